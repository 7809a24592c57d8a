/**
 * The round trip of `memwhy exec PID -c pass`, whole command, through each
 * transport (the pending-call queue written through memory; gdb), beside
 * the plain gdb attach that pyrasite-style tools pay before they do
 * anything, measured side by side in one run; and the target's longest
 * stall during an attach, seen by a loop that timestamps itself
 * (bench/fixtures/stall_meter.py), against the same loop's longest gap in
 * as long a window with no attach.
 *
 * memwhy runs as users run it, through bin/memwhy, which starts the CLI
 * bundle (dist/memwhy.cjs). Figures (BENCHMARKS.md), idle target, memory
 * transport, against plain gdb: before the bundle, quiet (load ~1), 555 ms
 * against 415 ms (1.34x); with it, measured only under load 6-25 from other
 * jobs, where the wall times swing 2x between runs: memwhy's CPU for the
 * whole command went from 580-660 ms to 380-490 ms, and start-up alone
 * (`--version`) from ~290 ms to ~190 ms at a quiet moment. Node's own
 * start (~110 ms) is most of the third of plain gdb aimed at (~140 ms).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const PYTHON = '/usr/bin/python3';
const ROUNDS = 10;
const TRANSPORTS = ['memory', 'gdb'] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Started {
  pid: number;
  stdout: () => string;
  stop: () => void;
}

async function startTarget(script: string): Promise<Started> {
  const child = spawn(PYTHON, ['-u', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve()));
  return { pid: child.pid!, stdout: () => out, stop: () => child.kill('SIGKILL') };
}

interface Timed {
  wall: number;
  safePoint: number;
  stopped: number;
  transport: string;
  /** hrtime (ns) around the command. */
  from: bigint;
  to: bigint;
}

async function timeMemwhy(pid: number, transport: string): Promise<Timed> {
  const from = process.hrtime.bigint();
  const t0 = performance.now();
  const { stdout } = await execFileP(join(ROOT, 'bin', 'memwhy'), ['exec', String(pid), '-c', 'pass', '--json', '--transport', transport]);
  const wall = performance.now() - t0;
  const to = process.hrtime.bigint();
  const a = (JSON.parse(stdout) as { attach: { transport: string; safe_point_ms: number; stopped_ms: number } }).attach;
  return { wall, safePoint: a.safe_point_ms, stopped: a.stopped_ms, transport: a.transport, from, to };
}

async function plainGdb(pid: number): Promise<number> {
  const t0 = performance.now();
  await execFileP('gdb', ['-nx', '-batch', '-iex', 'set debuginfod enabled off', '-p', String(pid), '-ex', 'detach']);
  return performance.now() - t0;
}

/** The longest gap the stall meter reported that overlaps [from, to], in ms. */
function longestGap(out: string, from: bigint, to: bigint): number {
  let worst = 0;
  for (const m of out.matchAll(/^gap (\d+) (\d+)$/gm)) {
    const a = BigInt(m[1]!);
    const b = BigInt(m[2]!);
    if (b >= from && a <= to) worst = Math.max(worst, Number(b - a) / 1e6);
  }
  return worst;
}

const ms = (x: number): string => `${x.toFixed(0)} ms`;

export async function run(): Promise<void> {
  const dbg = existsSync('/usr/lib/debug/.build-id') ? 'python3-dbg installed' : 'no python3-dbg';
  console.log(`target: ${PYTHON} (${dbg}); ${ROUNDS} rounds each, interleaved (memory, gdb, plain gdb), median\n`);
  console.log('| target | transport | memwhy exec -c pass (whole) | waiting for the safe point | target stopped | plain `gdb -p PID -batch -ex detach` | memwhy / plain gdb |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, fixture] of [
    ['busy (8 threads churning)', 'busy_threads.py'],
    ['idle (main loop sleeps 1 s)', 'idle_sleeper.py'],
  ] as const) {
    const target = await startTarget(join(ROOT, 'test', 'fixtures', fixture));
    try {
      for (const t of TRANSPORTS) await timeMemwhy(target.pid, t); // warm the page cache and dist/
      await plainGdb(target.pid);
      const rows = new Map<string, Timed[]>(TRANSPORTS.map((t) => [t, []]));
      const plain: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        for (const t of TRANSPORTS) rows.get(t)!.push(await timeMemwhy(target.pid, t));
        plain.push(await plainGdb(target.pid));
      }
      const p = median(plain);
      for (const t of TRANSPORTS) {
        const r = rows.get(t)!;
        const w = median(r.map((x) => x.wall));
        console.log(`| ${label} | ${t} | ${ms(w)} | ${ms(median(r.map((x) => x.safePoint)))} | ${median(r.map((x) => x.stopped)).toFixed(1)} ms | ${ms(p)} | ${(w / p).toFixed(2)} |`);
      }
    } finally {
      target.stop();
    }
  }

  console.log(`\nThe target's longest stall (${ROUNDS} attaches each; a main loop that timestamps itself, gaps over 1 ms):\n`);
  console.log("| transport | target stopped (memwhy's figure): median | longest gap during an attach: median | worst | same-length windows with no attach: worst | attaches that failed |");
  console.log('|---|---|---|---|---|---|');
  const meter = await startTarget(join(ROOT, 'bench', 'fixtures', 'stall_meter.py'));
  try {
    for (const t of TRANSPORTS) await timeMemwhy(meter.pid, t).catch(() => undefined);
    for (const t of TRANSPORTS) {
      const during: number[] = [];
      const idle: number[] = [];
      const stopped: number[] = [];
      let failed = 0;
      for (let i = 0; i < ROUNDS; i++) {
        let r: Timed;
        try {
          r = await timeMemwhy(meter.pid, t);
        } catch {
          // (gdb finds no safe point in this loop: it calls no Python function and never lets the GIL go.)
          failed++;
          continue;
        }
        stopped.push(r.stopped);
        during.push(longestGap(meter.stdout(), r.from, r.to));
        // The same length of time with nothing done to the target: the machine's own noise.
        const from = process.hrtime.bigint();
        await new Promise((res) => setTimeout(res, r.wall));
        idle.push(longestGap(meter.stdout(), from, process.hrtime.bigint()));
      }
      if (during.length === 0) {
        console.log(`| ${t} | - | - | - | - | ${failed} of ${ROUNDS} |`);
        continue;
      }
      console.log(
        `| ${t} | ${median(stopped).toFixed(1)} ms | ${median(during).toFixed(1)} ms | ${Math.max(...during).toFixed(1)} ms | ${Math.max(...idle).toFixed(1)} ms | ${failed} of ${ROUNDS} |`,
      );
    }
  } finally {
    meter.stop();
  }
}
