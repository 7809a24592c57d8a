/**
 * What `memwhy trim` gives back on a fragmented target, and how long the
 * allocator call pauses it: workloads/fragment.py --hold at 1, 4 and 8
 * worker threads (glibc gives each its own arena), under glibc, then
 * jemalloc and tcmalloc when installed. Prints one row per run.
 *
 *   node --import tsx -e "import('./bench/trim.bench.ts').then((m) => m.run())"
 *
 * Measured on Debian 12 (glibc 2.36, Python 3.11, 2 cores), 16 requests:
 *
 *   ALLOCATOR  THREADS  RSS BEFORE  HELD FREE   RELEASED  OF HELD  RSS AFTER     PAUSE
 *   glibc            1    62.0 MiB   45.7 MiB   42.4 MiB     93 %   19.6 MiB  225.1 ms
 *   glibc            4   208.1 MiB  191.7 MiB  183.3 MiB     96 %   24.8 MiB  370.2 ms
 *   glibc            8   400.1 MiB  383.7 MiB  369.7 MiB     96 %   30.3 MiB  215.7 ms
 *   jemalloc         1   160.8 MiB  142.8 MiB  139.1 MiB     97 %   21.7 MiB   30.3 ms
 *   jemalloc         4   523.1 MiB  501.1 MiB  497.0 MiB     99 %   26.1 MiB   47.8 ms
 *   jemalloc         8   714.0 MiB  685.4 MiB  682.7 MiB    100 %   31.3 MiB   67.6 ms
 *   tcmalloc         1    76.4 MiB   56.6 MiB   31.9 MiB     56 %   44.5 MiB  152.3 ms
 *   tcmalloc         4    97.4 MiB   75.6 MiB   37.2 MiB     49 %   60.2 MiB  383.5 ms
 *   tcmalloc         8   109.1 MiB   88.6 MiB   40.4 MiB     46 %   68.7 MiB  359.5 ms
 *
 * glibc's pause varies run to run (370 ms to 1.2 s at 4 threads): malloc_trim
 * walks every free chunk and madvises page by page. tcmalloc's
 * ReleaseFreeMemory empties only its page heap, not the thread and central
 * caches, so about half of what it holds stays.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { breakdownMalloc, summarizeTrim } from '../src/analyze/malloc.js';
import { withAgent } from '../src/attach/agentSession.js';
import { allocatorEnv, locateAllocator, type AllocatorName } from '../src/collect/allocators.js';
import { collectMalloc, trimThroughAgent } from '../src/collect/malloc.js';
import { renderTable } from '../src/report/table.js';
import { formatBytes } from '../src/util/units.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FRAGMENT = join(ROOT, 'workloads', 'fragment.py');
const PYTHON = '/usr/bin/python3';

async function startFragment(threads: number, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(PYTHON, [FRAGMENT, '--hold', '--threads', String(threads), '--rounds', '16', '--seconds', '0.5'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fragment.py did not get ready: ${out}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fragment.py exited (${code}): ${out}`));
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

export async function run(): Promise<void> {
  const allocators: AllocatorName[] = ['glibc', 'jemalloc', 'tcmalloc'];
  const rows: string[][] = [];
  for (const name of allocators) {
    let env: NodeJS.ProcessEnv;
    try {
      env = allocatorEnv(locateAllocator(name), {}, process.env).env;
    } catch (err) {
      process.stderr.write(`trim bench: skipping ${name}: ${(err as Error).message}\n`);
      continue;
    }
    for (const threads of [1, 4, 8]) {
      const child = await startFragment(threads, env);
      try {
        const { breakdown, trim } = await withAgent(child.pid!, async (session) => {
          const breakdown = breakdownMalloc(await collectMalloc(session));
          const trim = summarizeTrim(await trimThroughAgent(session, { gc: false, settleMs: 200 }));
          return { breakdown, trim };
        });
        const held = breakdown.derived.held_free ?? 0;
        rows.push([
          name,
          String(threads),
          formatBytes(trim.rss_before),
          formatBytes(held),
          formatBytes(trim.released),
          held > 0 ? `${((trim.released / held) * 100).toFixed(0)} %` : '-',
          formatBytes(trim.rss_after),
          `${(trim.pause_ms ?? 0).toFixed(1)} ms`,
        ]);
        process.stderr.write(`trim bench: ${name}, ${threads} threads done\n`);
      } finally {
        await stop(child);
      }
    }
  }
  process.stdout.write(
    renderTable(
      [
        { header: 'ALLOCATOR' },
        { header: 'THREADS' },
        { header: 'RSS BEFORE' },
        { header: 'HELD FREE' },
        { header: 'RELEASED' },
        { header: 'OF HELD' },
        { header: 'RSS AFTER' },
        { header: 'PAUSE' },
      ],
      rows,
    ),
  );
}
