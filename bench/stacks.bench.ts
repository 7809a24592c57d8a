/**
 * `memwhy stacks` beside gdb's py-bt on a 20-thread target
 * (test/fixtures/threads_in_known_functions.py --idle 17): Debian's
 * /usr/bin/python3 (3.11, py-bt from python3-dbg's auto-loaded
 * python3.11-gdb.py) and pyenv's 3.12 and 3.13 (py-bt from the
 * pythonX.Y-gdb.py pyenv installs beside the executable). Per target: the
 * command's wall time and the target's pause (median of 10 runs), gdb's
 * wall time (median of 10; gdb holds the target stopped from attach to
 * detach, so its pause is about its wall time) and the ratio, and
 * `memwhy stacks --native` (median of 3). Prints a markdown table. The
 * wall times include node's start, printed first (`memwhy --help`).
 *
 *   npm run bench -- stacks
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'threads_in_known_functions.py');
const MEMWHY = join(ROOT, 'bin', 'memwhy');
/** Timed runs call the built CLI as an installed package does (its "bin", the bundle): bin/memwhy in a checkout also checks whether src/ is newer than dist/. */
const CLI = join(ROOT, 'dist', 'memwhy.cjs');
const RUNS = 10;
const NATIVE_RUNS = 3;
const THREADS = 20;

interface Target {
  label: string;
  python: string;
  /** Where py-bt's pythonX.Y-gdb.py is, when gdb would not auto-load it by default. */
  gdbScriptDir?: string;
}

function targets(): Target[] {
  const found: Target[] = [];
  if (existsSync('/usr/bin/python3')) found.push({ label: 'debian-3.11 (/usr/bin/python3)', python: '/usr/bin/python3' });
  const versions = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  for (const minor of ['3.12', '3.13']) {
    const v = existsSync(versions) ? readdirSync(versions).find((d) => d.startsWith(`${minor}.`)) : undefined;
    if (!v) continue;
    const bin = join(versions, v, 'bin');
    found.push({ label: `pyenv-${v}`, python: join(bin, `python${minor}`), gdbScriptDir: bin });
  }
  return found;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

function timed(cmd: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // its group: a killed batch gdb detaches
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, wallMs: performance.now() - started });
    });
  });
}

async function startTarget(python: string): Promise<ChildProcess> {
  const child = spawn(python, ['-u', FIXTURE, '--idle', String(THREADS - 3)], { cwd: dirname(FIXTURE), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${python} ${FIXTURE} did not get ready: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${python} ${FIXTURE} exited (${code}): ${out}`));
    });
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await done;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const ms = (v: number): string => (v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`);

/** `memwhy stacks PID --json` n times: wall times, pauses, and how many threads the last run showed. */
async function memwhyRuns(pid: number, extra: string[], n: number, entry: string[] = [process.execPath, CLI]): Promise<{ wall: number[]; pause: number[]; threads: number }> {
  const wall: number[] = [];
  const pause: number[] = [];
  let threads = 0;
  for (let i = 0; i < n; i++) {
    const r = await timed(entry[0]!, [...entry.slice(1), 'stacks', String(pid), '--json', ...extra], 120_000);
    if (r.code !== 0) throw new Error(`memwhy stacks ${pid} ${extra.join(' ')} failed: ${r.stderr}`);
    const doc = JSON.parse(r.stdout) as { pause_ms: number; threads: { native_only?: boolean }[] };
    wall.push(r.wallMs);
    pause.push(doc.pause_ms);
    threads = doc.threads.filter((t) => !t.native_only).length;
  }
  return { wall, pause, threads };
}

/** gdb's py-bt n times: wall times, and how many threads' Python frames the last run printed. */
async function pyBtRuns(pid: number, t: Target, n: number): Promise<{ wall: number[]; threadsWithFrames: number }> {
  const args = ['-batch', ...(t.gdbScriptDir ? ['-iex', `add-auto-load-safe-path ${t.gdbScriptDir}`] : []), '-ex', 'thread apply all py-bt', '-p', String(pid)];
  const wall: number[] = [];
  let threadsWithFrames = 0;
  for (let i = 0; i < n; i++) {
    const r = await timed('gdb', args, 120_000);
    wall.push(r.wallMs);
    // py-bt prints "Traceback (most recent call first):" per thread with Python frames.
    threadsWithFrames = (r.stdout.match(/^Traceback \(most recent call first\):$/gm) ?? []).length;
  }
  return { wall, threadsWithFrames };
}

export async function run(): Promise<void> {
  const rows: string[] = [];
  for (const t of targets()) {
    const target = await startTarget(t.python);
    try {
      const pid = target.pid!;
      await memwhyRuns(pid, [], 1, [MEMWHY]); // builds dist/ if stale; not timed
      await memwhyRuns(pid, [], 1); // warms the file cache
      const m = await memwhyRuns(pid, [], RUNS);
      const g = await pyBtRuns(pid, t, RUNS);
      const n = await memwhyRuns(pid, ['--native'], NATIVE_RUNS);
      const mw = median(m.wall);
      const gw = median(g.wall);
      rows.push(
        `| ${t.label} | ${m.threads} | ${ms(mw)} | ${ms(median(m.pause))} | ${ms(gw)} (py-bt: ${g.threadsWithFrames}/${THREADS} threads) | ${(gw / mw).toFixed(1)}x | ${ms(median(n.wall))} / ${ms(median(n.pause))} |`,
      );
    } finally {
      await stop(target);
    }
  }
  const help: number[] = [];
  for (let i = 0; i < RUNS; i++) help.push((await timed(process.execPath, [CLI, '--help'], 60_000)).wallMs);
  const [l1, l5] = loadavg();
  console.log(`load average while measuring: ${l1!.toFixed(1)} (1 min), ${l5!.toFixed(1)} (5 min): figures taken on a busy machine run long`);
  console.log(
    `memwhy stacks vs gdb py-bt, ${THREADS}-thread target (threads_in_known_functions.py --idle ${THREADS - 3}); memwhy: median of ${RUNS}, gdb: median of ${RUNS}, --native: median of ${NATIVE_RUNS}\n`,
  );
  console.log(`node's start and memwhy's imports alone (memwhy --help): ${ms(median(help))}\n`);
  console.log('| target | threads read | memwhy stacks wall | target pause | gdb py-bt wall | gdb / memwhy | memwhy --native wall / pause |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
}
