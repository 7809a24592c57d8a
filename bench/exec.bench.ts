/**
 * The round trip of `memwhy exec PID -c pass`, whole command, on a target
 * that has Debian's python3-dbg installed (so a plain `gdb -p` reads seconds
 * of debug info), with the gdb part shown apart; beside the plain gdb attach
 * that pyrasite-style tools pay before they do anything.
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function startTarget(script: string): Promise<{ pid: number; stop: () => void }> {
  const child = spawn(PYTHON, ['-u', join(ROOT, 'test', 'fixtures', script)], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

async function timeMemwhy(pid: number): Promise<{ wall: number; gdb: number; safePoint: number; stopped: number }> {
  const t0 = performance.now();
  const { stdout } = await execFileP(join(ROOT, 'bin', 'memwhy'), ['exec', String(pid), '-c', 'pass', '--json']);
  const wall = performance.now() - t0;
  const a = (JSON.parse(stdout) as { attach: { gdb_ms: number; safe_point_ms: number; stopped_ms: number } }).attach;
  return { wall, gdb: a.gdb_ms, safePoint: a.safe_point_ms, stopped: a.stopped_ms };
}

export async function run(): Promise<void> {
  const dbg = existsSync('/usr/lib/debug/.build-id') ? 'python3-dbg installed' : 'no python3-dbg';
  console.log(`target: ${PYTHON} (${dbg}); ${ROUNDS} rounds each, median\n`);
  console.log('| target | memwhy exec -c pass (whole) | gdb part | waiting for safe point | target stopped | plain `gdb -p PID -batch` attach+detach | ratio |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, fixture] of [
    ['busy (8 threads churning)', 'busy_threads.py'],
    ['idle (main loop sleeps 1 s)', 'idle_sleeper.py'],
  ] as const) {
    const target = await startTarget(fixture);
    try {
      await timeMemwhy(target.pid); // warm the page cache and dist/
      const rows = [];
      for (let i = 0; i < ROUNDS; i++) rows.push(await timeMemwhy(target.pid));
      const plain: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        await execFileP('gdb', ['-nx', '-batch', '-iex', 'set debuginfod enabled off', '-p', String(target.pid), '-ex', 'detach']);
        plain.push(performance.now() - t0);
      }
      const w = median(rows.map((r) => r.wall));
      const p = median(plain);
      console.log(
        `| ${label} | ${w.toFixed(0)} ms | ${median(rows.map((r) => r.gdb)).toFixed(0)} ms | ${median(rows.map((r) => r.safePoint)).toFixed(0)} ms | ${median(rows.map((r) => r.stopped)).toFixed(0)} ms | ${p.toFixed(0)} ms | ${(p / w).toFixed(1)}x |`,
      );
    } finally {
      target.stop();
    }
  }
}
