/**
 * The heap dump's costs, both ends:
 *
 * 1. Dominators and retained sizes of a synthetic 10 M-node graph (a random
 *    tree plus 15 M extra edges: 25 M edges), and the peak RSS of this
 *    process; once with edges anywhere, once with mostly local edges, as in
 *    a real dump. Aim: 10 s.
 * 2. The dump of a target of ~600 k tracked / 3.6 M objects
 *    (bench/fixtures/many_small_objects.py: 300 k small instances each with
 *    a list, and a 300 k-entry dict of strings), run in each CPython through
 *    test/helpers/run_agent_module.py (no attach): pause, wall, file size,
 *    objects/s, and the target's extra memory during the dump; then reading
 *    and analysing that file here.
 *
 *   npm run bench -- dominators
 *   node --import tsx bench/dominators.bench.ts [--graph-only | --random-only | --dump-only]
 *
 * Measured on 2 x AMD EPYC (a shared VM; a dependent random read costs
 * ~200 ns there, and other jobs kept the load average at 3-12):
 *
 *   10 M nodes, 25 M edges, random: 26.8 s dominators + 1.7 s retained
 *   sizes (27.9 s CPU), peak RSS 803 MiB (362 MiB of it the graph). With
 *   mostly local edges: the same 27.8 s CPU. Over the 10 s aim: the DFS's
 *   num[] reads, the predecessor transpose and eval's path compression are
 *   a third each, all random reads (a bucketed, cache-friendly transpose
 *   is the next step).
 *
 *   Issue 15 (load 11-21, CPU s, min / median of 3): 21.3 / 22.0 s before,
 *   18.0 / 19.8 s after per-node edge records for the DFS, a radix
 *   transpose and a read-free root test in the semidominator pass; each
 *   phase is printed (see BENCHMARKS.md).
 *
 *   Issue 15, balanced linking in the semidominator pass (load 7-11, CPU s,
 *   min / median of 3, runs alternated with the code before): 14.1 / 16.9 s
 *   before, 13.1 / 13.7 s after; semidominators 4.40 / 5.56 s -> 2.97 /
 *   3.09 s, the other phases unchanged (records 1.6, DFS 5.5, transpose
 *   0.6, idoms 0.5, retained sizes 1.8-2.1 s). On a quiet machine (load
 *   0.7) the code before took 11.5 / 12.0 s. The 8 s aim is still missed:
 *   records + DFS (one dependent miss per node, ~1 us under this load) are
 *   now more than half. Tried and dropped: a visited bitmap so stale stack
 *   entries skip their record, and reading ahead in the stack.
 *
 *   Issue 15, arrays reused between phases (2026-12-08, load 1.1-2.7, wall
 *   s, min / median of 5, runs alternated with the code before): the first
 *   write to a page of new memory costs ~3 ms per MiB on this VM, so the
 *   forest, predStart, idom and orderIdom take over arrays an earlier phase
 *   is done with, and retained sizes are summed in node order into the
 *   tree's spare memory. Dominators 10.06 / 10.69 s before, 8.47 / 8.88 s
 *   after (semidominators 2.58 / 3.17 -> 1.87 / 2.14, idoms 0.42 / 0.45 ->
 *   0.18 / 0.19, transpose 0.61 / 0.72 -> 0.46 / 0.48; records and DFS
 *   unchanged, 1.4 and 4.5-6.0 s); retained sizes 1.48 / 1.56 -> 0.61 /
 *   0.65 s; peak RSS 766-775 MiB. The 8 s aim is met in the best runs
 *   only (7.21 s at best): the DFS is now over half. Tried and dropped:
 *   touching the forest entries of the nodes 2-8 ahead in the
 *   semidominator pass (no gain).
 *
 *   With huge pages, as `memwhy analyze` runs any input of 64 MiB or more
 *   (src/util/hugePages.ts), run it as
 *   `GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --import tsx bench/dominators.bench.ts --random-only`:
 *   2026-12-08, quiet (load 1.1-1.6): dominators 6.91 / 6.39 / 7.73 s against
 *   8.13 / 8.95 / 8.77 s without, runs alternated (BENCHMARKS.md).
 *
 *   python       objects  tracked  refs    pause  pause cpu  per cpu s  file       peak +RSS
 *   pyenv-2.7     3.91 M    905 k  4.84 M  7.45 s  6.99 s     0.56 M/s  112.0 MiB  167 MiB (45 B/obj)
 *   pyenv-3.6     3.92 M    908 k  4.87 M  6.15 s  5.96 s     0.66 M/s  112.5 MiB  184 MiB (49 B/obj)
 *   pyenv-3.10    3.92 M    907 k  4.86 M  7.46 s  5.31 s     0.74 M/s  112.4 MiB  171 MiB (46 B/obj)
 *   debian-3.11   3.62 M    607 k  3.96 M  3.34 s  2.69 s     1.34 M/s   99.7 MiB  127 MiB (37 B/obj)
 *   pyenv-3.12    3.62 M    608 k  3.96 M  4.01 s  3.89 s     0.93 M/s   99.7 MiB  129 MiB (37 B/obj)
 *   pyenv-3.13    3.62 M    608 k  3.96 M  4.01 s  3.81 s     0.95 M/s   99.8 MiB  120 MiB (35 B/obj)
 *
 *   Analysing the debian-3.11 dump here: read 2.2 s, dominators and holder
 *   groups 1.8 s, tables 0.1 s (4.1 s CPU), peak RSS 573 MiB.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dominatorTree, retainedSizes } from '../src/analyze/dominators.js';
import { analyzeHeap, groupHeap } from '../src/analyze/retainers.js';
import { readDump } from '../src/heap/dumpFile.js';
import { renderTable } from '../src/report/table.js';
import { formatBytes } from '../src/util/units.js';
import { interpreters } from '../test/helpers/pythons.js';
import { seeded } from '../test/helpers/seeded.js';

const run_ = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A random tree (node i hangs off an earlier node) plus extra edges between
 * nodes (shared objects, cycles). `local`: parents and most extra targets
 * are near in numbering, as objects allocated together are near in a real
 * dump; otherwise anywhere (no locality at all: the worst case for caches).
 */
function syntheticGraph(nodes: number, extra: number, local: boolean): { edgeStart: Uint32Array; edgeTarget: Uint32Array; size: Float64Array } {
  const rand = seeded(42);
  const from = new Uint32Array(nodes - 1 + extra);
  const to = new Uint32Array(nodes - 1 + extra);
  const near = (i: number): number => Math.max(0, i - 1 - Math.floor(rand() * Math.min(i, 4096)));
  for (let i = 1; i < nodes; i++) {
    from[i - 1] = local ? near(i) : Math.floor(rand() * i);
    to[i - 1] = i;
  }
  for (let k = nodes - 1; k < from.length; k++) {
    const a = Math.floor(rand() * nodes);
    from[k] = a;
    to[k] = local && rand() < 0.9 ? Math.min(nodes - 1, a + Math.floor(rand() * 4096)) : Math.floor(rand() * nodes);
  }
  const edgeStart = new Uint32Array(nodes + 1);
  for (let k = 0; k < from.length; k++) edgeStart[from[k]! + 1]!++;
  for (let i = 0; i < nodes; i++) edgeStart[i + 1]! += edgeStart[i]!;
  const fill = edgeStart.slice(0, nodes);
  const edgeTarget = new Uint32Array(from.length);
  for (let k = 0; k < from.length; k++) edgeTarget[fill[from[k]!]!++] = to[k]!;
  const size = new Float64Array(nodes);
  for (let i = 0; i < nodes; i++) size[i] = 16 + Math.floor(rand() * 200);
  return { edgeStart, edgeTarget, size };
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;

async function benchGraph(local: boolean): Promise<void> {
  const nodes = 10_000_000;
  const extra = 15_000_000;
  const rssBefore = process.resourceUsage().maxRSS;
  const g = syntheticGraph(nodes, extra, local);
  const rssGraph = process.resourceUsage().maxRSS;
  // Each phase's wall and CPU time: on a shared machine CPU time is the steadier figure.
  const phases: string[] = [];
  let lastWall = performance.now();
  let lastCpu = process.cpuUsage();
  const lap = (name: string): void => {
    const wall = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    phases.push(`${name} ${((wall - lastWall) / 1000).toFixed(2)} s (${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU)`);
    lastWall = wall;
    lastCpu = process.cpuUsage();
  };
  const wall0 = performance.now();
  const cpu0 = process.cpuUsage();
  const tree = dominatorTree({ nodeCount: nodes, edgeStart: g.edgeStart, edgeTarget: g.edgeTarget }, [0], { onPhase: lap });
  const wall1 = performance.now();
  const retained = retainedSizes(tree, g.size);
  lap('retained');
  const wall2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const rssPeak = process.resourceUsage().maxRSS;
  console.log(
    `synthetic graph (${local ? 'local edges' : 'random edges'}): ${(nodes / 1e6).toFixed(0)} M nodes, ${((nodes - 1 + extra) / 1e6).toFixed(0)} M edges; ` +
      `dominators ${((wall1 - wall0) / 1000).toFixed(2)} s, retained sizes ${((wall2 - wall1) / 1000).toFixed(2)} s, ` +
      `total ${((wall2 - wall0) / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU; ` +
      `peak RSS ${mib(rssPeak)} (the graph itself: ${mib(rssGraph - rssBefore)}); root retains ${formatBytes(retained.bytes[0]!)}\n` +
      `  phases: ${phases.join(', ')}`,
  );
}

interface DumpReply {
  objects: number;
  edges: number;
  gc_tracked: number;
  bytes: number;
  pause_ms: number;
  pause_cpu_ms: number;
  graph_ms?: number;
  wall_ms: number;
}
interface Memory {
  rss: number;
  peak: number;
}

async function benchDump(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'memwhy-bench-dump-'));
  const rows: string[][] = [];
  let analysed = false;
  try {
    for (const py of interpreters()) {
      const path = join(dir, `${py.label}.mwd`);
      const { stdout } = await run_(
        py.path,
        [
          join(ROOT, 'test', 'helpers', 'run_agent_module.py'),
          join(ROOT, 'src', 'agent'),
          '--setup',
          join(ROOT, 'bench', 'fixtures', 'many_small_objects.py'),
          'fixture.describe',
          JSON.stringify({ reset_peak: true }),
          'heapdump.dump',
          JSON.stringify({ path }),
          'fixture.describe',
          '{}',
        ],
        { timeout: 600_000, maxBuffer: 1 << 24 },
      );
      const [before, dump, after] = stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { result: unknown }).result) as [Memory, DumpReply, Memory];
      // Walk and labels; agents before graph_ms held other threads off for all of it.
      const graph = dump.graph_ms ?? dump.pause_ms;
      rows.push([
        py.label,
        `${(dump.objects / 1e6).toFixed(2)} M`,
        `${(dump.gc_tracked / 1e3).toFixed(0)} k`,
        `${(dump.edges / 1e6).toFixed(2)} M`,
        `${(graph / 1000).toFixed(2)} s`,
        `${dump.pause_ms.toFixed(0)} ms`,
        `${(dump.pause_cpu_ms / 1000).toFixed(2)} s`,
        `${(dump.objects / graph / 1000).toFixed(2)} M/s`,
        `${(dump.objects / dump.pause_cpu_ms / 1000).toFixed(2)} M/s`,
        `${(dump.wall_ms / 1000).toFixed(2)} s`,
        formatBytes(dump.bytes),
        `${formatBytes(after.peak - before.rss)} (${((after.peak - before.rss) / dump.objects).toFixed(0)} B/obj)`,
      ]);
      if (!analysed && py.major === 3 && py.minor === 11) {
        analysed = true;
        await benchAnalyse(path);
      }
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    renderTable(
      [
        { header: 'python', align: 'left' },
        { header: 'objects' },
        { header: 'tracked' },
        { header: 'refs' },
        { header: 'walk + labels' },
        { header: 'longest step' },
        { header: 'cpu' },
        { header: 'per wall s' },
        { header: 'per cpu s' },
        { header: 'wall' },
        { header: 'file' },
        { header: 'peak +RSS' },
      ],
      rows,
    ),
  );
}

async function benchAnalyse(path: string): Promise<void> {
  const rss0 = process.resourceUsage().maxRSS;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const dump = readDump(path);
  const t1 = performance.now();
  const groups = groupHeap(dump);
  const t2 = performance.now();
  analyzeHeap(dump, groups, { top: 15 });
  const t3 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `analyse ${path.split('/').pop()} (${formatBytes(statSync(path).size)}, ${(dump.nodeCount / 1e6).toFixed(2)} M objects): ` +
      `read ${((t1 - t0) / 1000).toFixed(2)} s, dominators + groups ${((t2 - t1) / 1000).toFixed(2)} s, tables ${((t3 - t2) / 1000).toFixed(2)} s; ` +
      `${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU; peak RSS ${mib(Math.max(rss0, process.resourceUsage().maxRSS))}`,
  );
}

export async function run(): Promise<void> {
  const only = process.argv.find((a) => a === '--graph-only' || a === '--random-only' || a === '--dump-only');
  if (only !== '--dump-only') {
    await benchGraph(false);
    if (only !== '--random-only') await benchGraph(true);
  }
  if (only === undefined || only === '--dump-only') await benchDump();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
