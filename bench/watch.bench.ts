/**
 * `memwhy watch`'s own cost watching 50 Python processes at the defaults
 * (a sample every 5 s, smaps_rollup every 60 s, collector counters read from
 * memory) while a client scrapes /metrics every 15 s, as Prometheus would:
 * watch's CPU time over the measured span as a share of one core, its RSS
 * (current and peak), and each scrape's latency. The 50 targets cycle through
 * every CPython on the machine and each does a little work (a list built and
 * dropped every 100 ms), so their figures change between samples.
 *
 *   npm run bench -- watch            (MEMWHY_BENCH_WATCH_S=300 for a longer span)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { interpreters } from '../test/helpers/pythons.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The CLI as an installed package runs it (package.json's "bin": the bundle scripts/bundle-cli.mjs writes). */
const CLI = join(ROOT, 'dist', 'memwhy.cjs');
const TARGETS = 50;
const SCRAPE_S = 15;
const MEASURE_S = Number(process.env.MEMWHY_BENCH_WATCH_S ?? 180);
const WORK = 'import sys, time\nsys.stdout.write("ready\\n"); sys.stdout.flush()\nwhile True:\n    x = [str(i) for i in range(2000)]\n    time.sleep(0.1)\n';
const TICKS_PER_S = 100; // USER_HZ

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_S; // utime, stime
}

function statusKiB(pid: number, key: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

async function startPython(path: string): Promise<ChildProcess> {
  const child = spawn(path, ['-u', '-c', WORK], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', () => reject(new Error(`${path} exited`)));
  });
  return child;
}

export async function run(): Promise<void> {
  const pythons = interpreters();
  const targets: ChildProcess[] = [];
  let watch: ChildProcess | undefined;
  try {
    for (let i = 0; i < TARGETS; i++) targets.push(await startPython(pythons[i % pythons.length]!.path));
    watch = spawn(process.execPath, [CLI, 'watch', '--listen', '127.0.0.1:0', '--pid', targets.map((t) => t.pid).join(',')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const port = await new Promise<number>((resolve, reject) => {
      watch!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      watch!.once('exit', () => reject(new Error(`watch exited: ${err}`)));
    });
    const latencies: number[] = [];
    let body = '';
    const scrape = async (): Promise<void> => {
      const t = performance.now();
      body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      latencies.push(performance.now() - t);
    };
    // Warm-up: the first sample describes every process and opens its memory.
    await new Promise((r) => setTimeout(r, 10_000));
    await scrape();
    const cpu0 = cpuSeconds(watch.pid!);
    const t0 = performance.now();
    const load0 = loadavg()[0]!;
    while (performance.now() - t0 < MEASURE_S * 1000) {
      await new Promise((r) => setTimeout(r, SCRAPE_S * 1000));
      await scrape();
    }
    const wallS = (performance.now() - t0) / 1000;
    const cpuShare = (cpuSeconds(watch.pid!) - cpu0) / wallS;
    const watched = Number(/^memwhy_watch_processes (\S+)$/m.exec(body)?.[1]);
    const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`${TARGETS} targets over ${pythons.map((p) => p.label).join(', ')}; watched ${watched}; ${series} series, ${(body.length / 1024).toFixed(0)} KiB a scrape`);
    console.log(`load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end; measured ${wallS.toFixed(0)} s, ${latencies.length} scrapes\n`);
    console.log('| watch CPU (share of one core) | watch RSS | watch peak RSS | scrape latency median | scrape latency max |');
    console.log('|---|---|---|---|---|');
    console.log(
      `| ${(cpuShare * 100).toFixed(2)} % | ${(statusKiB(watch.pid!, 'VmRSS') / 1024).toFixed(0)} MiB | ${(statusKiB(watch.pid!, 'VmHWM') / 1024).toFixed(0)} MiB | ${sorted[sorted.length >> 1]!.toFixed(1)} ms | ${sorted[sorted.length - 1]!.toFixed(1)} ms |`,
    );
  } finally {
    watch?.kill('SIGTERM');
    for (const t of targets) t.kill('SIGKILL');
  }
}
