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
 *
 * Measured on 2 x AMD EPYC (a shared VM, load average ~5 from other jobs,
 * so wall times run 1.5-3x CPU times):
 *
 *   python       what                               objects     wall  per wall s      cpu  per cpu s  peak +RSS
 *   pyenv-2.7    memwhy census                       3.92 M   5.25 s    0.75 M/s   3.48 s   1.12 M/s     33 MiB
 *   pyenv-2.7    plain Python walk                   3.92 M  16.18 s    0.24 M/s  14.03 s   0.28 M/s
 *   pyenv-3.8    memwhy census                       3.92 M   2.47 s    1.59 M/s   1.61 s   2.43 M/s     31 MiB
 *   pyenv-3.8    plain Python walk                   3.92 M  43.62 s    0.09 M/s  11.41 s   0.34 M/s
 *   debian-3.11  memwhy census                       3.62 M   1.53 s    2.36 M/s   1.02 s   3.56 M/s     44 MiB
 *   debian-3.11  objgraph.typestats (tracked only)   0.61 M   0.16 s    3.73 M/s   0.11 s   5.55 M/s
 *   debian-3.11  plain Python walk                   3.65 M  10.12 s    0.36 M/s   6.78 s   0.54 M/s
 *   pyenv-3.12   memwhy census                       3.62 M   2.75 s    1.32 M/s   1.33 s   2.73 M/s     31 MiB
 *   pyenv-3.13   memwhy census                       3.62 M   3.12 s    1.16 M/s   1.29 s   2.82 M/s     33 MiB
 *
 * Through the attach (debian-3.11 target): pauses of 3.1, 5.2 and 3.2 s for
 * 3.62 M objects on that loaded machine. Python 2.7 lacks collections' C
 * counting helper, so its counting is a Python loop.
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
    rows.push([
      py.label,
      'memwhy census',
      M(c.objects),
      `${c.wall_s.toFixed(2)} s`,
      rate(c, 'wall_s'),
      `${c.cpu_s.toFixed(2)} s`,
      rate(c, 'cpu_s'),
      `${c.pause_ms.toFixed(0)} ms`,
      `${(b.census_peak_rss_growth_kib / 1024).toFixed(0)} MiB`,
    ]);
    if (b.objgraph) {
      const o = best(b.objgraph);
      rows.push([py.label, 'objgraph.typestats (tracked only)', M(o.objects), `${o.wall_s.toFixed(2)} s`, rate(o, 'wall_s'), `${o.cpu_s.toFixed(2)} s`, rate(o, 'cpu_s'), '', '']);
    }
    rows.push([
      py.label,
      'plain Python walk',
      M(b.plain.objects),
      `${b.plain.wall_s.toFixed(2)} s`,
      rate(b.plain, 'wall_s'),
      `${b.plain.cpu_s.toFixed(2)} s`,
      rate(b.plain, 'cpu_s'),
      '',
      '',
    ]);
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
  await againstSpinner(pythons);
}

/**
 * Through the real attach, against a thread spinning in pure Python
 * (bench/fixtures/count_iterations.py, 0.1 s windows): per census, the
 * longest step it reports (pause), its wall time, and what the spinner saw:
 * its longest gap between two iterations in the windows the census
 * overlapped (and, for scale, in windows with no census: the machine's own
 * noise), and its rate then against its rate alone.
 */
export async function againstSpinner(pythons: { label: string; path: string }[]): Promise<void> {
  console.log('\nattached census against a thread spinning in pure Python (3 censuses each):\n');
  const rows: string[][] = [];
  for (const py of pythons) {
    const target = await startTarget(py.path, [join(here, 'fixtures', 'count_iterations.py'), '0.1'], { readyTimeoutMs: 120_000 });
    const windows = (): { t: number; n: number; gapMs: number }[] =>
      target
        .stdout()
        .split('\n')
        .map((l) => /^rate (\d+) ([\d.]+) ([\d.]+)/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ n: Number(m[1]), t: Number(m[2]) * 1000, gapMs: Number(m[3]) }));
    try {
      const runs = await withAgent(target.pid, async (s) => {
        const out: { t0: number; t1: number; pause_ms: number; wall_ms: number | undefined; objects: number }[] = [];
        for (let i = 0; i < 3; i++) {
          await new Promise((r) => setTimeout(r, 1500));
          const t0 = Date.now();
          const c = await collectCensus(s);
          out.push({ t0, t1: Date.now(), pause_ms: c.pause_ms, wall_ms: c.wall_ms, objects: c.total.count });
        }
        return out;
      });
      const all = windows();
      const inside = (w: { t: number }, r: { t0: number; t1: number }): boolean => w.t > r.t0 && w.t - 100 < r.t1;
      // Windows well clear of every census (and of the attach, which comes before the first).
      const quiet = all.filter((w) => w.t > runs[0]!.t0 - 1200 && !runs.some((r) => w.t > r.t0 - 300 && w.t - 100 < r.t1 + 300));
      const alone = quiet.reduce((a, w) => a + w.n, 0) / Math.max(1, quiet.length);
      for (const r of runs) {
        const ws = all.filter((w) => inside(w, r));
        const rate = ws.reduce((a, w) => a + w.n, 0) / Math.max(1, ws.length);
        rows.push([
          py.label,
          M(r.objects),
          `${r.pause_ms.toFixed(0)} ms`,
          r.wall_ms === undefined ? `(${r.t1 - r.t0} ms)` : `${r.wall_ms.toFixed(0)} ms`,
          `${Math.max(0, ...ws.map((w) => w.gapMs)).toFixed(0)} ms`,
          `${Math.max(0, ...quiet.map((w) => w.gapMs)).toFixed(0)} ms`,
          `${((rate / alone) * 100).toFixed(0)} %`,
        ]);
      }
    } finally {
      await target.kill();
    }
  }
  console.log(
    renderTable(
      [
        { header: 'python', align: 'left' },
        { header: 'objects' },
        { header: 'pause (longest step)' },
        { header: 'census wall' },
        { header: "spinner's longest stall" },
        { header: 'its longest stall, no census' },
        { header: 'its rate vs no census' },
      ],
      rows,
    ),
  );
}
