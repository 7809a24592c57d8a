/**
 * What `memwhy diagnose` costs the target: a program that counts its own
 * loop iterations per 0.5 s (bench/fixtures/count_iterations.py, a thread
 * spinning in pure Python, allocating a dict per iteration) runs alone,
 * then under a diagnose (MEMWHY_BENCH_WINDOW, default 30 s); the
 * throughput kept is its rate during the diagnose over its rate alone, its longest stall is the longest gap
 * between two of its iterations it saw during the diagnose, and each
 * census's figures (the longest stretch it kept the GIL, its wall time) are
 * read from the saved evidence.
 *
 *   npm run bench -- diagnose
 *   MEMWHY_BENCH_WINDOW=10m MEMWHY_BENCH_PYTHONS=debian-3.11 npm run bench -- diagnose
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { interpreters } from '../test/helpers/pythons.js';

const execFileP = promisify(execFile);
const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const LABELS = (process.env.MEMWHY_BENCH_PYTHONS ?? 'debian-3.11,pyenv-2.7,pyenv-3.8,pyenv-3.12,pyenv-3.13').split(',');
/** The diagnose window: the default 30 s; MEMWHY_BENCH_WINDOW=10m for a long one. */
const WINDOW = process.env.MEMWHY_BENCH_WINDOW ?? '30s';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
}

interface Window {
  t: number;
  n: number;
  gapMs: number;
}
interface SavedCensus {
  t: number;
  pause_ms: number;
  wall_ms?: number;
}

export async function run(): Promise<void> {
  console.log(`diagnose --duration ${WINDOW}`);
  console.log(
    '| Python | rate alone (iter/0.5 s) | rate during diagnose | throughput kept | slowest window | longest stall alone | longest stall during diagnose | census pauses (target held, ms) | census walks (ms) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const py of interpreters().filter((p) => LABELS.includes(p.label))) {
    const child = spawn(py.path, ['-u', join(ROOT, 'bench', 'fixtures', 'count_iterations.py')], { stdio: ['ignore', 'pipe', 'ignore'] });
    const windows: Window[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = /^rate (\d+) ([\d.]+) ([\d.]+)/.exec(buf.slice(0, nl));
        if (m) windows.push({ n: Number(m[1]), t: Number(m[2]) * 1000, gapMs: Number(m[3]) });
        buf = buf.slice(nl + 1);
      }
    });
    const dir = mkdtempSync(join(tmpdir(), 'memwhy-bench-'));
    try {
      await new Promise((r) => setTimeout(r, 4000));
      const alone = median(windows.map((w) => w.n));
      // The machine's own noise: the longest stall with nobody attached.
      const stallAlone = Math.max(...windows.slice(1).map((w) => w.gapMs));
      const t0 = Date.now();
      await execFileP(join(ROOT, 'bin', 'memwhy'), ['diagnose', String(child.pid), '--duration', WINDOW, '--json', '--save', join(dir, 'ev'), '--force'], {
        maxBuffer: 64 << 20,
        timeout: 3 * 3600_000,
      });
      const t1 = Date.now();
      const evidence = JSON.parse(readFileSync(join(dir, 'ev', 'evidence.json'), 'utf8')) as { censuses?: (SavedCensus & { snapshot?: { child_ms?: number } })[] };
      const censuses = [...(evidence.censuses ?? [])].sort((a, b) => a.t - b.t);
      // Windows that ended inside the diagnose, plus the one it started in.
      const during = windows.filter((w) => w.t >= t0 && w.t <= t1 + 500);
      const mean = during.reduce((a, w) => a + w.n, 0) / Math.max(1, during.length);
      const ms = (x: number | undefined): string => (x === undefined ? 'n/a' : `${x.toFixed(0)}`);
      console.log(
        `| ${py.label} | ${alone} | ${mean.toFixed(0)} | ${((mean / alone) * 100).toFixed(0)} % | ${Math.min(...during.map((w) => w.n))} | ` +
          `${stallAlone.toFixed(0)} ms | ${Math.max(...during.map((w) => w.gapMs)).toFixed(0)} ms | ${censuses.map((c) => ms(c.pause_ms)).join(', ')} | ${censuses.map((c) => ms(c.snapshot?.child_ms ?? c.wall_ms)).join(', ')} |`,
      );
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
