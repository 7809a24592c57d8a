/**
 * The heap dump end to end at production scale: a target of 20.4 M objects
 * (about 1.9 GB, bench/fixtures/twenty_million_objects.py, which counts its
 * own loop iterations per 0.5 s) is dumped with `memwhy dump` while it runs;
 * then `memwhy analyze` reads the file, and again with --html. Figures: the
 * target's build time and RSS; its throughput during the dump against its
 * own rate alone and its longest stall; the dump's wall time, the fork's
 * hold and the file size; analyze's wall time and peak RSS (GNU time's
 * maximum resident set size). One Python (MEMWHY_BENCH_PYTHON, Debian's
 * python3 by default); MEMWHY_BENCH_RECORDS sets the size (6 objects each).
 * Needs about 2 GB for the target, up to as much again for the dump's
 * copy-on-write child, and 3 GB for analyze: run it once.
 *
 *   npm run bench -- scale
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { formatBytes } from '../src/util/units.js';
import { interpreters } from '../test/helpers/pythons.js';

const execFileP = promisify(execFile);
const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const LABEL = process.env.MEMWHY_BENCH_PYTHON ?? 'debian-3.11';
const RECORDS = process.env.MEMWHY_BENCH_RECORDS ?? '3400000';

interface Window {
  t: number;
  n: number;
  gapMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

/** Runs a memwhy command under GNU time: its wall and CPU seconds (the CPU tells more on a loaded machine) and peak RSS in bytes. */
async function timed(args: string[]): Promise<{ wallS: number; cpuS: number; peak: number; stdout: string }> {
  const t0 = performance.now();
  const { stdout, stderr } = await execFileP('/usr/bin/time', ['-f', 'maxrss_kib=%M cpu_s=%U+%S', join(ROOT, 'bin', 'memwhy'), ...args], {
    maxBuffer: 256 << 20,
    timeout: 3600_000,
  });
  const wallS = (performance.now() - t0) / 1000;
  const kib = Number(/maxrss_kib=(\d+)/.exec(stderr)?.[1] ?? NaN);
  const cpu = /cpu_s=([\d.]+)\+([\d.]+)/.exec(stderr);
  return { wallS, cpuS: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN, peak: kib * 1024, stdout };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The pages a process has to itself (smaps_rollup's Private_Clean + Private_Dirty): for a forked child, what it copied. */
function privateOf(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    let kib = 0;
    for (const m of text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB/gm)) kib += Number(m[1]);
    return kib * 1024;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/**
 * What the copy-on-write snapshot costs in memory, sampled every 200 ms
 * until stopped: the most the target's RSS grew plus what its children
 * (the snapshot child) had to themselves, against the target's RSS before.
 */
function sampleSnapshotMemory(pid: number): { stop: () => number } {
  const before = rssOf(pid);
  let peak = 0;
  const sample = (): void => {
    const extra = rssOf(pid) - before + childrenOf(pid).reduce((sum, c) => sum + privateOf(c), 0);
    if (extra > peak) peak = extra;
  };
  const timer = setInterval(sample, 200);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

export async function run(): Promise<void> {
  const py = interpreters().find((p) => p.label === LABEL);
  if (!py) {
    console.log(`no ${LABEL} here (MEMWHY_BENCH_PYTHON)`);
    return;
  }
  await execFileP(join(ROOT, 'bin', 'memwhy'), ['--version']);
  const dir = mkdtempSync(join(tmpdir(), 'memwhy-bench-scale-'));
  const child = spawn(py.path, ['-u', join(ROOT, 'bench', 'fixtures', 'twenty_million_objects.py'), RECORDS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const windows: Window[] = [];
  let buildS = NaN;
  let buf = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const r = /^ready \d+ ([\d.]+)/.exec(line);
        if (r) {
          buildS = Number(r[1]);
          resolve();
        }
        const m = /^rate (\d+) ([\d.]+) ([\d.]+)/.exec(line);
        if (m) windows.push({ n: Number(m[1]), t: Number(m[2]) * 1000, gapMs: Number(m[3]) });
      }
    });
  });
  try {
    await ready;
    await new Promise((r) => setTimeout(r, 5000));
    const targetRss = rssOf(child.pid!);
    const alone = median(windows.map((w) => w.n));
    const stallAlone = Math.max(...windows.slice(1).map((w) => w.gapMs));
    const file = join(dir, 'big.mwd');
    const t0 = Date.now();
    const memory = sampleSnapshotMemory(child.pid!);
    const dump = await timed(['dump', String(child.pid), '-o', file, '--json']);
    const snapshotExtra = memory.stop();
    const t1 = Date.now();
    const reply = JSON.parse(dump.stdout) as {
      objects: number;
      edges: number;
      pause_ms: number;
      wall_ms: number;
      snapshot?: { forked: boolean; fork_ms?: number; child_ms?: number; why?: string };
    };
    const during = windows.filter((w) => w.t >= t0 && w.t <= t1 + 500);
    const mean = during.reduce((a, w) => a + w.n, 0) / Math.max(1, during.length);
    child.kill('SIGKILL');
    const size = statSync(file).size;
    const analyze = await timed(['analyze', file, '--json', '--top', '5']);
    const html = await timed(['analyze', file, '--top', '5', '--html', join(dir, 'big.html')]);
    console.log(
      `target (${py.label}): ${(reply.objects / 1e6).toFixed(1)} M objects, ${(reply.edges / 1e6).toFixed(1)} M references, built in ${buildS.toFixed(1)} s, RSS ${formatBytes(targetRss)}`,
    );
    console.log('| step | figure |');
    console.log('|---|---|');
    console.log(`| target's rate alone / during the dump (iter per 0.5 s) | ${alone} / ${mean.toFixed(0)}: ${((100 * mean) / alone).toFixed(0)} % kept (${during.length} windows) |`);
    console.log(`| target's longest stall alone / during the dump | ${stallAlone.toFixed(0)} ms / ${Math.max(...during.map((w) => w.gapMs)).toFixed(0)} ms |`);
    console.log(
      `| memwhy dump, wall (attach included) | ${dump.wallS.toFixed(1)} s (memwhy's own CPU ${dump.cpuS.toFixed(1)} s); ${reply.snapshot?.forked ? `forked, held ${reply.pause_ms.toFixed(0)} ms, child ${((reply.snapshot.child_ms ?? 0) / 1000).toFixed(1)} s` : `in the target (${reply.snapshot?.why ?? '?'}), longest step ${reply.pause_ms.toFixed(0)} ms`} |`,
    );
    console.log(`| memory the snapshot cost (peak, sampled every 200 ms) | ${formatBytes(snapshotExtra)}: ${((100 * snapshotExtra) / targetRss).toFixed(0)} % of the target's RSS |`);
    console.log(`| dump file | ${formatBytes(size)} (${(size / reply.objects).toFixed(1)} bytes per object) |`);
    console.log(`| memwhy analyze --json | ${analyze.wallS.toFixed(1)} s (${analyze.cpuS.toFixed(1)} s CPU), peak RSS ${formatBytes(analyze.peak)} |`);
    console.log(
      `| memwhy analyze --html | ${html.wallS.toFixed(1)} s (${html.cpuS.toFixed(1)} s CPU), peak RSS ${formatBytes(html.peak)}, page ${formatBytes(statSync(join(dir, 'big.html')).size)} |`,
    );
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
