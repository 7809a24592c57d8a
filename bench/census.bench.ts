/**
 * The heap census's speed and pause on a target of about 3.6 M objects
 * (test/fixtures/hold_many_objects.py: 300 k small instances each with a
 * 7-float list, and a 300 k-entry dict of distinct strings), against
 * objgraph.typestats (Debian's python3-objgraph, /usr/bin/python3 only: it
 * counts only the ~600 k GC-tracked objects) and a plain Python walk that
 * finds the same objects one at a time (test/fixtures/naive_census.py).
 * Then the pause `memwhy heap` causes through the real attach.
 *
 *   npm run bench -- census
 *
 * CPU time is the honest speed figure on a shared machine; wall time and
 * the pause are what the target sees. Best of 3 census runs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withAgent } from '../src/attach/agentSession.js';
import { collectCensus } from '../src/collect/census.js';
import { renderTable } from '../src/report/table.js';
import { interpreters } from '../test/helpers/pythons.js';
import { startTarget } from '../test/helpers/target.js';

const run_ = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

interface Timing {
  objects: number;
  wall_s: number;
  cpu_s: number;
}
interface BenchOut {
  python: string;
  tracked: number;
  census: (Timing & { bytes: number; pause_ms: number })[];
  census_peak_rss_growth_kib: number;
  objgraph: Timing[] | null;
  plain: Timing;
}

const M = (n: number): string => `${(n / 1e6).toFixed(2)} M`;
const rate = (t: Timing, by: 'wall_s' | 'cpu_s'): string => `${(t.objects / t[by] / 1e6).toFixed(2)} M/s`;
const best = <T extends Timing>(xs: T[]): T => xs.reduce((a, b) => (b.wall_s < a.wall_s ? b : a));

export async function run(): Promise<void> {
  const pythons = interpreters().filter((p) => ['pyenv-2.7', 'pyenv-3.8', 'debian-3.11', 'pyenv-3.12', 'pyenv-3.13'].includes(p.label));
  const rows: string[][] = [];
  for (const py of pythons) {
    const { stdout } = await run_(py.path, [join(here, 'fixtures', 'census_bench.py')], { timeout: 600_000, maxBuffer: 1 << 20 });
    const b = JSON.parse(stdout) as BenchOut;
    const c = best(b.census);
    rows.push([py.label, 'memwhy census', M(c.objects), `${c.wall_s.toFixed(2)} s`, rate(c, 'wall_s'), `${c.cpu_s.toFixed(2)} s`, rate(c, 'cpu_s'), `${c.pause_ms.toFixed(0)} ms`, `${(b.census_peak_rss_growth_kib / 1024).toFixed(0)} MiB`]);
    if (b.objgraph) {
      const o = best(b.objgraph);
      rows.push([py.label, 'objgraph.typestats (tracked only)', M(o.objects), `${o.wall_s.toFixed(2)} s`, rate(o, 'wall_s'), `${o.cpu_s.toFixed(2)} s`, rate(o, 'cpu_s'), '', '']);
    }
    rows.push([py.label, 'plain Python walk', M(b.plain.objects), `${b.plain.wall_s.toFixed(2)} s`, rate(b.plain, 'wall_s'), `${b.plain.cpu_s.toFixed(2)} s`, rate(b.plain, 'cpu_s'), '', '']);
  }
  console.log(
    renderTable(
      [
        { header: 'python', align: 'left' },
        { header: 'what', align: 'left' },
        { header: 'objects' },
        { header: 'wall' },
        { header: 'per wall s' },
        { header: 'cpu' },
        { header: 'per cpu s' },
        { header: 'pause' },
        { header: 'peak +RSS' },
      ],
      rows,
    ),
  );

  // Through the real attach: the pause the target's threads see.
  const py = interpreters().find((p) => p.label === 'debian-3.11') ?? interpreters().at(-1)!;
  const target = await startTarget(py.path, [join(here, '..', 'test', 'fixtures', 'hold_many_objects.py')], { readyTimeoutMs: 120_000 });
  try {
    const pauses = await withAgent(target.pid, async (s) => {
      const out: { objects: number; pause_ms: number }[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await collectCensus(s);
        out.push({ objects: c.total.count, pause_ms: c.pause_ms });
      }
      return out;
    });
    console.log(`attached census of ${py.label} (pid ${target.pid}): ${pauses.map((p) => `${M(p.objects)} objects in ${p.pause_ms.toFixed(0)} ms`).join('; ')}`);
  } finally {
    await target.kill();
  }
}
