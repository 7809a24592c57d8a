/**
 * From diagnose's evidence to its verdict. One analyser per signal, each
 * `(facts) => CauseFinding` with the numbers that decided it, and one
 * function that weighs the findings into the verdict. Pure: no I/O, no clock.
 *
 * Thresholds, and why:
 * - RSS "grows" when it climbs by the Mann-Kendall test (p < 0.01 over the
 *   samples) and the Theil-Sen slope over the window adds more than
 *   max(1 MiB, 2 % of RSS): smaller drifts are allocator noise on an idle
 *   interpreter (seen: +-300 KiB over 30 s on an idle 3.11 target). A
 *   serving process's RSS jitters by MiBs from second to second: least
 *   squares' r² (>= 0.8, the old rule) called 80-160 KiB/s leaks there
 *   stable, the order-based tests do not.
 * - The RSS memwhy's own steps cause (a census that ran inside the target)
 *   is taken out of the series before it is fitted.
 * - Python objects grow when types climb steadily across the censuses
 *   (src/analyze/growth.ts: Mann-Kendall over 5+ censuses) by 512 KiB or
 *   more in the window, whatever RSS does (it lags while freed space is
 *   reused); a batch caught half-way by one census does not climb steadily.
 * - Native memory is what the C allocator's in-use bytes gained beyond what
 *   the Python objects' growth costs it: shallow sizes undercount (rounding,
 *   pymalloc pools, over-allocated containers; measured up to 1.4x), so the
 *   Python growth is weighted by 2 and the rest must still be at least
 *   4 MiB and half the RSS growth.
 * - Retention is an issue from 30 % of RSS and 32 MiB free-but-held
 *   (src/analyze/malloc.ts), and proven when a trim gives back at least a
 *   quarter of what the counters said was held.
 */
import type { Evidence } from '../evidence/evidence.js';
import type { Census } from '../collect/census.js';
import { growthOf, type GrowthFinding } from './growth.js';
import { breakdownMalloc, type MallocBreakdown } from './malloc.js';
import { leastSquaresSlope } from './slope.js';
import { mannKendall, theilSenSlope } from './trend.js';
import { formatBytes, formatRate } from '../util/units.js';
import type { AllocationSite, BreakdownLine, Cause, CauseFinding, Diagnosis, Suspect } from './diagnosis.js';

const MiB = 1024 * 1024;

/**
 * The growing types that explain the growth, for the referrer search: those
 * that climb steadily first, by bytes gained (a program class gets no
 * priority for being one: a few re.Pattern objects of some library's cache
 * would take the search from the real suspect).
 */
export function pickSuspectTypes(growth: GrowthFinding, max = 3): string[] {
  const ranked = rankSuspects(growth);
  // The bytes often sit in builtins (the dicts and strings of each leaked
  // record) while the record's own class names the leak: the biggest steady
  // program-defined type is searched too, when it carries a real share.
  // By count: a record class grows one instance per record, like its dicts.
  const most = Math.max(0, ...ranked.filter((t) => t.steady).map((t) => t.count_delta));
  const owner = ranked.find((t) => t.steady && t.module !== 'builtins' && t.count_delta >= Math.max(20, 0.1 * most));
  const picked = ranked.slice(0, 1);
  if (owner && !picked.includes(owner)) picked.push(owner);
  for (const t of ranked) {
    if (picked.length >= max) break;
    if (!picked.includes(t)) picked.push(t);
  }
  return picked.slice(0, max).map((t) => t.type);
}

function rankSuspects(growth: GrowthFinding): GrowthFinding['types'] {
  const growing = growth.types.filter((t) => t.count_delta > 0 && t.bytes_delta > 0);
  const steady = growing.filter((t) => t.steady);
  const rest = growing.filter((t) => !t.steady);
  const byBytes = (a: GrowthFinding['types'][number], b: GrowthFinding['types'][number]): number => b.bytes_delta - a.bytes_delta;
  return [...steady.sort(byBytes), ...rest.sort(byBytes)];
}

export interface RssFacts {
  start: number;
  end: number;
  duration_s: number;
  slope: number;
  r2: number | null;
  /** slope x duration, less tracemalloc's own memory: the growth the program caused in the window. */
  growth: number;
  growing: boolean;
  threads_start: number;
  threads_end: number;
  /** Thread count never fell and rose by 3 or more. */
  threads_climb: boolean;
  /** RSS memwhy's in-target steps added, taken out of the series before the fit. */
  memwhy_steps: number;
  /** Mann-Kendall's one-sided p-value of a rise in RSS. */
  p_up: number;
}

/**
 * The RSS series with memwhy's in-target steps taken out: each step's change
 * (last sample before it to first sample after it) is subtracted from every
 * later sample. Steps that ran in a forked child change nothing in the
 * target: correcting for them would only subtract the program's own jitter.
 */
export function withoutMemwhySteps(e: Evidence): { t: number; rss: number }[] & { removed?: number } {
  const s = e.samples;
  const shifts: { at: number; by: number }[] = [];
  for (const step of e.steps ?? []) {
    if (!step.in_target) continue;
    const before = [...s].reverse().find((x) => x.t <= step.start);
    const after = s.find((x) => x.t >= step.end);
    if (before && after) shifts.push({ at: after.t, by: after.rss - before.rss });
  }
  const out = s.map((x) => ({ t: x.t, rss: x.rss - shifts.filter((sh) => sh.at <= x.t).reduce((n, sh) => n + sh.by, 0) })) as {
    t: number;
    rss: number;
  }[] & { removed?: number };
  out.removed = shifts.reduce((n, sh) => n + sh.by, 0);
  return out;
}

export function rssFacts(e: Evidence): RssFacts {
  const s = e.samples;
  const t0 = s[0]?.t ?? 0;
  const series = withoutMemwhySteps(e);
  const points = series.map((x) => ({ t_s: (x.t - t0) / 1000, v: x.rss }));
  const fit = leastSquaresSlope(points);
  const duration_s = s.length > 1 ? (s[s.length - 1]!.t - t0) / 1000 : 0;
  const start = s[0]?.rss ?? 0;
  const end = s[s.length - 1]?.rss ?? 0;
  // tracemalloc's own tables grow with every traced block: not the program's memory.
  const overhead = e.tracemalloc.already_tracing ? 0 : (e.tracemalloc.overhead ?? 0);
  const slope = theilSenSlope(points) ?? 0;
  const mk = mannKendall(points.map((p) => p.v), 0.01);
  const growth = Math.max(0, slope * duration_s - overhead);
  const threads = s.map((x) => x.threads);
  const climbs = threads.every((v, i) => i === 0 || v >= threads[i - 1]!);
  return {
    start,
    end,
    duration_s,
    slope,
    r2: fit?.r2 ?? null,
    growth,
    growing: growth > Math.max(MiB, 0.02 * start) && mk.trend === 'up',
    threads_start: threads[0] ?? 0,
    threads_end: threads[threads.length - 1] ?? 0,
    threads_climb: climbs && (threads[threads.length - 1] ?? 0) - (threads[0] ?? 0) >= 3,
    memwhy_steps: series.removed ?? 0,
    p_up: mk.p_up,
  };
}

function heapDelta(c: readonly Census[]): { count: number; bytes: number } | null {
  if (c.length < 2) return null;
  return { count: c[c.length - 1]!.total.count - c[0]!.total.count, bytes: c[c.length - 1]!.total.bytes - c[0]!.total.bytes };
}

/**
 * Steady heap growth worth a verdict, with 5+ censuses: 128 KiB in the window
 * (4 KiB/s over the default 30 s; +40 instances/s of a 100-byte record).
 * The Mann-Kendall test, not this size, is what tells a leak from churn: an
 * idle or steady service shows no type climbing in every census at all
 * (test/services), and memwhy's own objects no longer appear between censuses.
 */
const STEADY_HEAP_BYTES = 128 * 1024;

/** "about +12 MiB an hour at this rate". */
export function hourly(bytesPerS: number): string {
  return `about ${bytesPerS >= 0 ? '+' : '-'}${formatBytes(Math.abs(bytesPerS) * 3600)} an hour at this rate`;
}

export function pythonObjectsFinding(
  rss: RssFacts,
  censuses: readonly Census[],
  growth: GrowthFinding | null,
  tracedInWindow: number | null,
): CauseFinding {
  const d = heapDelta(censuses);
  if (!d || !growth) {
    return { cause: 'python-objects', status: 'insufficient-data', score: 0, summary: 'no two heap censuses to compare', numbers: {} };
  }
  const steady = growth.types.filter((t) => t.steady && t.bytes_delta > 0);
  const steadyBytes = steady.reduce((n, t) => n + t.bytes_delta, 0);
  const steadyRate = steady.reduce((n, t) => n + Math.max(0, t.bytes_per_s), 0);
  // Shallow sizes leave out allocator overhead; what tracemalloc saw allocated
  // in the window and still live is the fuller measure when there is one.
  const pyBytes = Math.max(steadyBytes, Math.min(d.bytes, tracedInWindow ?? 0));
  const share = rss.growth > 0 ? pyBytes / rss.growth : null;
  // With 5+ censuses, only a steady climb counts: a batch alive at the last
  // census is not a leak. With fewer, the old rule: the first-to-last change.
  const judged = censuses.length >= 5 ? steadyBytes : Math.max(steadyBytes, d.bytes);
  // Shallow bytes undercount what a leaked record costs (a pending asyncio
  // task's coroutine frame, a handler's buffers): a steady climb counts even
  // when it explains little of the RSS growth; the score says how much.
  const issue = censuses.length >= 5 ? judged >= STEADY_HEAP_BYTES : judged > 512 * 1024 && (share === null || share >= 0.25 || !rss.growing);
  const top = rankSuspects(growth)[0];
  const pBest = Math.min(1, ...steady.map((t) => t.p_up));
  const score = issue
    ? Math.min(0.95, (steady.length > 0 ? 0.55 : 0.4) + (pBest < 0.01 ? 0.1 : 0) + (judged >= 512 * 1024 ? 0.1 : 0) + (rss.growing && share !== null ? 0.2 * Math.min(1, share) : 0.1))
    : 0;
  return {
    cause: 'python-objects',
    status: issue ? 'issue' : 'none',
    score,
    summary: issue
      ? `live Python objects grew by ${formatBytes(judged)} in ${growth.elapsed_s.toFixed(0)} s` +
        (steady.length > 0 ? `, climbing in every census (${formatRate(steadyRate)}, ${hourly(steadyRate)})` : '') +
        (top
          ? `; most of it ${top.type} (+${top.count_delta.toLocaleString('en')} objects, +${formatBytes(top.bytes_delta)}, ${top.count_per_s >= 1 ? `+${top.count_per_s.toFixed(0)}` : `+${top.count_per_s.toFixed(2)}`} instances/s)`
          : '') +
        (share !== null && rss.growing ? `; Python allocations explain ${Math.round(Math.min(share, 1) * 100)} % of the RSS growth` : '')
      : steadyBytes > 0
        ? `Python objects that climb steadily grew by ${formatBytes(steadyBytes)}, too little to explain the memory`
        : `no Python type climbed steadily across the ${censuses.length} censuses (the heap changed by ${formatBytes(d.bytes)})`,
    numbers: {
      heap_bytes_delta: d.bytes,
      heap_count_delta: d.count,
      steady_bytes: steadyBytes,
      steady_bytes_per_s: steadyRate,
      traced_in_window: tracedInWindow,
      share_of_rss_growth: share,
      steady_types: steady.length,
    },
  };
}

export function uncollectableFinding(e: Evidence): CauseFinding {
  const a = e.gc.start;
  const b = e.gc.end;
  if (!a || !b) return { cause: 'uncollectable', status: 'insufficient-data', score: 0, summary: 'the collector state was not read', numbers: {} };
  const grew = b.garbage.count - a.garbage.count;
  const issue = grew > 0 || (b.garbage.count > 1000);
  const group = b.garbage.groups[0];
  return {
    cause: 'uncollectable',
    status: issue ? 'issue' : 'none',
    score: issue ? (grew > 0 ? 0.95 : 0.5) : 0,
    summary: issue
      ? `gc.garbage holds ${b.garbage.count.toLocaleString('en')} objects the collector cannot free (${grew >= 0 ? '+' : ''}${grew.toLocaleString('en')} in the window)` +
        (group ? `, mostly ${group.type}${group.has_del ? ' (has __del__)' : ''}` : '') +
        (b.garbage.kept_bytes ? `, keeping ${formatBytes(b.garbage.kept_bytes)} alive` : '')
      : `gc.garbage is ${b.garbage.count === 0 ? 'empty' : `steady at ${b.garbage.count}`}`,
    numbers: {
      garbage_start: a.garbage.count,
      garbage_end: b.garbage.count,
      garbage_bytes: b.garbage.bytes,
      kept_start: a.garbage.kept_bytes ?? null,
      kept_end: b.garbage.kept_bytes ?? null,
    },
  };
}

export function cyclicGarbageFinding(e: Evidence, heap: { count: number; bytes: number } | null): CauseFinding {
  const g = e.gc.end;
  if (!g) return { cause: 'cyclic-garbage', status: 'insufficient-data', score: 0, summary: 'the collector state was not read', numbers: {} };
  const disabled = !g.enabled;
  const starved = g.thresholds[0] === 0 || g.counts[0]! > 50 * Math.max(1, g.thresholds[0] ?? 700);
  // Sampled instances of the growing types that no root reaches are garbage.
  const chains = e.refs.flatMap((r) => r.chains);
  const unrooted = chains.filter((c) => c.root === null).length;
  const growing = heap !== null && heap.count > 1000;
  const issue = (disabled || starved) && growing;
  return {
    cause: 'cyclic-garbage',
    status: issue ? 'issue' : 'none',
    score: issue ? (unrooted > 0 ? 0.97 : 0.85) : 0,
    summary: issue
      ? `the cyclic collector is ${disabled ? 'disabled (gc.disable())' : 'starved (generation 0 count ' + g.counts[0] + ' against threshold ' + g.thresholds[0] + ')'} while ${heap!.count.toLocaleString('en')} objects accumulated` +
        (unrooted > 0 ? `; ${unrooted} of ${chains.length} sampled objects are reachable from no root` : '')
      : `the collector is ${g.enabled ? 'enabled' : 'disabled'}, thresholds ${g.thresholds.join('/')}`,
    numbers: { enabled: g.enabled ? 1 : 0, gen0_count: g.counts[0] ?? null, threshold0: g.thresholds[0] ?? null, unrooted_samples: unrooted },
  };
}

export function nativeFinding(rss: RssFacts, start: MallocBreakdown | null, end: MallocBreakdown | null, heap: { count: number; bytes: number } | null): CauseFinding {
  const a = start?.allocator.in_use;
  const b = end?.allocator.in_use;
  if (a == null || b == null) {
    return { cause: 'native', status: 'insufficient-data', score: 0, summary: "the allocator's in-use bytes were not read at both ends", numbers: {} };
  }
  const inUseDelta = b - a;
  // Python objects live in malloc too (over 512 bytes, and pymalloc's arenas
  // count where PYTHONMALLOC=malloc): what their growth costs the allocator
  // is more than their shallow sizes (rounding, pools, over-allocated
  // containers). Twice the shallow growth is taken off.
  const pyCost = 2 * Math.max(0, heap?.bytes ?? 0);
  const native = inUseDelta - pyCost;
  const share = rss.growth > 0 ? native / rss.growth : null;
  const issue = native > 4 * MiB && native > pyCost && (share === null || share >= 0.5);
  return {
    cause: 'native',
    status: issue ? 'issue' : 'none',
    score: issue ? Math.min(1, Math.max(0.4, share ?? 0.5)) : 0,
    summary: issue
      ? `memory in use by the C allocator grew by ${formatBytes(inUseDelta)} while Python objects grew by ${formatBytes(heap?.bytes ?? 0)}: about ${formatBytes(native)} is held by native code (a C extension or the interpreter), not by Python objects`
      : `the C allocator's in-use bytes changed by ${formatBytes(inUseDelta)}, in line with the Python objects`,
    numbers: { in_use_start: a, in_use_end: b, native_delta: native, share_of_rss_growth: share },
  };
}

export function retentionFinding(end: MallocBreakdown | null, e: Evidence): CauseFinding {
  if (!end) return { cause: 'allocator-retention', status: 'insufficient-data', score: 0, summary: 'the allocator was not read', numbers: {} };
  const held = end.derived.held_free;
  const share = end.derived.retention;
  const t = e.trim;
  const released = t ? t.before.rss - t.after.rss : null;
  const proven = released !== null && held !== null && held > 0 && released >= 0.25 * held;
  const issue = end.finding.status === 'issue' || proven;
  return {
    cause: 'allocator-retention',
    status: issue ? 'issue' : end.finding.status === 'insufficient-data' ? 'insufficient-data' : 'none',
    score: issue ? Math.min(1, (share ?? 0) + (proven ? 0.4 : 0)) : 0,
    summary: issue
      ? `${end.allocator.name} holds ${formatBytes(held ?? 0)} freed but not returned to the OS (${Math.round((share ?? 0) * 100)} % of RSS)` +
        (released !== null ? `; a live malloc_trim gave back ${formatBytes(released)}` : '')
      : end.finding.summary,
    numbers: { held_free: held, retention: share, trim_released: released, rss: end.rss },
  };
}

export function threadLeakFinding(rss: RssFacts): CauseFinding {
  const d = rss.threads_end - rss.threads_start;
  return {
    cause: 'thread-leak',
    status: rss.threads_climb ? 'issue' : 'none',
    score: rss.threads_climb ? Math.min(1, 0.5 + d / 20) : 0,
    summary: rss.threads_climb
      ? `threads went from ${rss.threads_start} to ${rss.threads_end} and never fell: each new thread costs a stack and its own allocator arena`
      : `threads steady (${rss.threads_start} to ${rss.threads_end})`,
    numbers: { threads_start: rss.threads_start, threads_end: rss.threads_end },
  };
}

function siteFor(e: Evidence, type: string): string | null {
  return e.tracemalloc.type_sites?.[type]?.[0]?.site ?? null;
}

/** A chain through memwhy's own agent (its modules are named __memwhy_*__): not the program's holder. */
function throughMemwhy(labels: readonly string[]): boolean {
  return labels.some((l) => l.includes('__memwhy'));
}

function pathFor(e: Evidence, type: string): string[] | null {
  const r = e.refs.find((x) => x.type === type);
  const chains = (r?.chains ?? []).filter((c) => !throughMemwhy(c.hops.map((h) => h.label)));
  const chain = chains.find((c) => c.complete) ?? chains[0];
  if (chain) return chain.hops.map((h) => h.label);
  // Not searched itself, but met on the way to another suspect (the Session
  // on the path to its strings): the path up to it.
  for (const other of e.refs) {
    for (const c of other.chains) {
      const labels = c.hops.map((h) => h.label);
      if (throughMemwhy(labels)) continue;
      const at = labels.indexOf(type);
      if (at > 0) return labels.slice(0, at + 1);
    }
  }
  return null;
}

function breakdownLines(b: MallocBreakdown | null): BreakdownLine[] {
  if (!b) return [];
  const a = b.allocator;
  const lines: BreakdownLine[] = [
    { label: 'RSS', bytes: b.rss, depth: 0, source: 'VmRSS' },
    { label: 'file-backed (code, libraries, mapped files)', bytes: b.file, depth: 1, source: 'RssFile' },
    { label: 'anonymous', bytes: b.anon, depth: 1, source: 'RssAnon' },
    { label: `thread stacks (${b.stacks.threads} + main)`, bytes: b.stacks.thread_rss + b.stacks.main_rss, depth: 2, source: 'smaps' },
    { label: 'pymalloc arenas', bytes: b.python.arena_bytes, depth: 2, source: 'sys._debugmallocstats' },
    { label: 'Python objects in pymalloc', bytes: b.python.live, depth: 3, source: 'sys._debugmallocstats' },
    { label: `${a.name} in use`, bytes: a.in_use, depth: 2, source: a.source },
    { label: `${a.name} free, held`, bytes: a.free_resident, depth: 2, source: a.source },
    { label: 'other anonymous', bytes: b.derived.other_anon, depth: 2, source: 'anonymous minus the lines above' },
  ];
  return lines;
}

function sitesOf(e: Evidence): AllocationSite[] | null {
  if (!e.tracemalloc.top) return null;
  return e.tracemalloc.top.map((s) => ({ site: s.site, size_diff: s.size_diff, count_diff: s.count_diff, size: s.size, count: s.count, traceback: s.traceback }));
}

function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w./=:@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function recommendationsFor(cause: Cause, e: Evidence, suspects: Suspect[], findings: CauseFinding[]): string[] {
  const cmd = shellQuote(e.cmdline.length ? e.cmdline : [e.python.exe]);
  // The suspect to name: a program class with a site or a holder beats a builtin like str.
  const top = suspects.find((s) => s.path || s.site) ?? suspects[0];
  switch (cause) {
    case 'python-objects': {
      const out: string[] = [];
      const site = top?.site ?? e.tracemalloc.top?.[0]?.site;
      if (site) out.push(`Look at ${site}: it allocated ${top?.site ? `the growing ${top.type} objects` : 'the most memory still live from this window'}.`);
      if (top?.path) out.push(`They are kept alive by ${top.path.join(' -> ')}: bound that container (evict old entries, use an LRU or a weakref.WeakValueDictionary).`);
      if (top) out.push(`Confirm the fix with: memwhy growth ${e.pid} --every 10s --times 6`);
      return out;
    }
    case 'uncollectable':
      return [
        'Break the reference cycles or drop __del__ from the classes in them (before Python 3.4 a cycle with __del__ is never freed); on 3.4+ look for C types with tp_del.',
        `See the cycles with: memwhy gc ${e.pid}`,
      ];
    case 'cyclic-garbage':
      return ['Re-enable the cyclic collector (gc.enable()), or call gc.collect() periodically if it was disabled for latency.', `Check with: memwhy exec ${e.pid} -c 'import gc; print(gc.isenabled(), gc.get_threshold(), gc.get_count())'`];
    case 'native':
      return [
        'Native memory grows with no Python object owning it: suspect a C extension. Update the extensions that allocate (numpy, lxml, grpc, database drivers...) and watch `memwhy malloc` between requests.',
        `Measure it apart from Python: memwhy malloc ${e.pid} --json (allocator.in_use over time)`,
      ];
    case 'allocator-retention':
      return [
        `Run under an allocator that returns memory: memwhy run --allocator tcmalloc -- ${cmd}`,
        `Or cap glibc's arenas: MALLOC_ARENA_MAX=2 ${cmd} (memwhy run --arena-max 2 -- ${cmd})`,
        `Measure the choice on your workload: memwhy compare -- ${cmd}`,
        `Relief now, without a restart: memwhy trim ${e.pid}`,
      ];
    case 'thread-leak':
      return [`Threads accumulate: see what the new ones are doing with memwhy stacks ${e.pid}, and join or pool them.`];
    case 'no-growth':
      return findings.some((f) => f.status === 'insufficient-data')
        ? [`Nothing grew in this window; watch longer under load: memwhy diagnose ${e.pid} --duration 5m`]
        : ['Memory is stable in this window: nothing to fix. Run again under load, or for longer, if it grows at other times.'];
  }
}

function lower(c: 'high' | 'medium' | 'low', by: boolean): 'high' | 'medium' | 'low' {
  if (!by) return c;
  return c === 'high' ? 'medium' : 'low';
}

/** "Stable" is sure only when RSS did not climb at all and nothing grew beneath it. */
function stableConfidence(rss: RssFacts, findings: CauseFinding[]): 'high' | 'medium' | 'low' {
  const somethingGrew = findings.some((f) => f.status === 'issue' || (f.numbers.steady_bytes ?? 0) > 0);
  if (rss.p_up < 0.05 || somethingGrew) return 'low';
  return findings.some((f) => f.status === 'insufficient-data') ? 'medium' : 'high';
}

function confidenceOf(score: number, cause: Cause, e: Evidence): 'high' | 'medium' | 'low' {
  if (cause === 'allocator-retention' && e.trim && e.trim.before.rss - e.trim.after.rss > 0) return score >= 0.5 ? 'high' : 'medium';
  if (score >= 0.75) return 'high';
  if (score >= 0.4) return 'medium';
  return 'low';
}

/** The whole analysis: evidence in, the diagnosis document out. */
export function diagnose(e: Evidence): Diagnosis {
  const rss = rssFacts(e);
  const censuses = [...e.censuses].sort((a, b) => a.t - b.t);
  const growth = censuses.length >= 2 ? growthOf(censuses) : null;
  const heap = heapDelta(censuses);
  const mStart = e.malloc.start ? breakdownMalloc(e.malloc.start) : null;
  const mEnd = e.malloc.end ? breakdownMalloc(e.malloc.end) : null;

  const findings: CauseFinding[] = [
    pythonObjectsFinding(rss, censuses, growth, e.tracemalloc.already_tracing ? null : (e.tracemalloc.traced_total ?? null)),
    uncollectableFinding(e),
    cyclicGarbageFinding(e, heap),
    nativeFinding(rss, mStart, mEnd, heap),
    retentionFinding(mEnd, e),
    threadLeakFinding(rss),
  ];
  // cyclic-garbage explains the same objects python-objects counts: when the
  // collector is off, that is the cause to name.
  const issues = findings.filter((f) => f.status === 'issue');
  const cyclic = issues.find((f) => f.cause === 'cyclic-garbage');
  // gc.garbage's objects are counted by the census as live objects too: when
  // its growth is a good part of the heap's, it is the explanation.
  const uncollectable = issues.find((f) => f.cause === 'uncollectable');
  const garbageGrowth = (uncollectable?.numbers.garbage_end ?? 0) - (uncollectable?.numbers.garbage_start ?? 0);
  // What the garbage keeps alive, by bytes, decides too: a few __del__
  // objects each holding a big payload are few objects but most of the bytes.
  const keptGrowth = (uncollectable?.numbers.kept_end ?? 0) - (uncollectable?.numbers.kept_start ?? 0);
  const garbageExplains =
    heap !== null && ((heap.count > 0 && garbageGrowth >= 0.3 * heap.count) || (heap.bytes > 0 && keptGrowth >= 0.3 * heap.bytes));
  const ranked = issues
    .filter((f) => !((cyclic || garbageExplains) && f.cause === 'python-objects'))
    .sort((a, b) => b.score - a.score);
  const growthCauses = ranked.filter((f) => f.cause !== 'allocator-retention');
  const retention = ranked.find((f) => f.cause === 'allocator-retention');

  // Without a steady RSS rise, a cause that is accumulating right now (objects
  // growing in every census, gc.garbage, threads) still comes first: RSS
  // lags while freed space inside the allocators is reused. Otherwise
  // retention explains memory that is high but not growing.
  // Without growth, retention answers "why is it so big" only when it is
  // most of the process, and a trim (if one ran) proved it: a busy service that churns
  // keeps some free memory in glibc as a matter of course (test/services
  // busy_no_leak: 30-40 % of RSS), and is not leaking.
  const strongRetention =
    retention && (retention.numbers.retention ?? 0) >= 0.5 && (retention.numbers.trim_released ?? 1) > 0 ? retention : undefined;
  let main: CauseFinding | undefined;
  if (rss.growing) main = growthCauses[0] ?? retention;
  else main = growthCauses.find((f) => f.score >= 0.5 && f.cause !== 'native') ?? strongRetention;
  const cause: Cause = main?.cause ?? 'no-growth';
  // A second cause close behind the first: say both, and be less sure.
  const runnerUp = ranked.find((f) => f !== main && f.cause !== 'allocator-retention');
  const close = main !== undefined && runnerUp !== undefined && runnerUp.score >= 0.8 * main.score;

  const suspects: Suspect[] = (growth ? rankSuspects(growth) : [])
    .slice(0, 10)
    .map((t) => ({
      type: t.type,
      count_delta: t.count_delta,
      bytes_delta: t.bytes_delta,
      count_per_s: t.count_per_s,
      bytes_per_s: t.bytes_per_s,
      site: siteFor(e, t.type),
      path: pathFor(e, t.type),
    }));

  const rssLine = `RSS went from ${formatBytes(rss.start)} to ${formatBytes(rss.end)} in ${rss.duration_s.toFixed(0)} s (${formatRate(rss.slope)}${rss.r2 !== null ? `, r² ${rss.r2.toFixed(2)}` : ''})`;
  const summary = main
    ? `${capitalize(main.summary)}.` + (close ? ` ${capitalize(runnerUp!.cause.replace('-', ' '))} also grows: ${runnerUp!.summary}.` : '')
    : rss.growing
      ? `RSS grows (${formatRate(rss.slope)}, ${hourly(rss.slope)}) but no measured signal explains it: neither Python objects, the collector, the C allocator's in-use bytes nor threads grew with it.`
      : `Memory is stable: ${rssLine}.`;
  const evidence = [rssLine, ...(main ? [main.summary] : []), ...ranked.filter((f) => f !== main).map((f) => f.summary)];
  const notes = [...e.notes];
  if (e.tracemalloc.skipped) notes.push(`no allocation sites: ${e.tracemalloc.skipped}`);

  const gcEnd = e.gc.end;
  const t = e.trim;
  return {
    memwhy_version: e.memwhy_version,
    pid: e.pid,
    python: e.python,
    cmdline: e.cmdline,
    window: { start: new Date(e.started_at).toISOString(), end: new Date(e.ended_at).toISOString(), duration_s: rss.duration_s },
    verdict: {
      cause,
      summary,
      confidence: main ? lower(confidenceOf(main.score, cause, e), close) : rss.growing ? 'low' : stableConfidence(rss, findings),
      evidence,
      other_causes: ranked.filter((f) => f !== main).map((f) => ({ cause: f.cause, summary: f.summary })),
    },
    rss: {
      start: rss.start,
      end: rss.end,
      slope: rss.slope,
      r2: rss.r2,
      samples: e.samples.map((s) => [(s.t - (e.samples[0]?.t ?? s.t)) / 1000, s.rss, s.anon, s.threads]),
      steps: (e.steps ?? []).map((st) => ({
        what: st.what,
        start_s: (st.start - (e.samples[0]?.t ?? st.start)) / 1000,
        end_s: (st.end - (e.samples[0]?.t ?? st.start)) / 1000,
        in_target: st.in_target,
      })),
      memwhy_steps_bytes: rss.memwhy_steps,
    },
    threads: {
      start: rss.threads_start,
      end: rss.threads_end,
      slope_per_min: rss.duration_s > 0 ? ((rss.threads_end - rss.threads_start) / rss.duration_s) * 60 : 0,
    },
    heap: censuses.length
      ? {
          start: censuses[0]!.total,
          end: censuses[censuses.length - 1]!.total,
          pause_ms: Math.max(...censuses.map((c) => c.pause_ms)),
        }
      : null,
    suspects,
    allocation_sites: sitesOf(e),
    gc: gcEnd
      ? {
          enabled: gcEnd.enabled,
          thresholds: gcEnd.thresholds,
          garbage_start: e.gc.start?.garbage.count ?? 0,
          garbage_end: gcEnd.garbage.count,
          collections: gcEnd.stats ? gcEnd.stats.map((s) => s.collections) : null,
          uncollectable: gcEnd.stats ? gcEnd.stats.reduce((n, s) => n + s.uncollectable, 0) : null,
        }
      : null,
    breakdown: breakdownLines(mEnd),
    trim: t
      ? { rss_before: t.before.rss, rss_after: t.after.rss, released: t.before.rss - t.after.rss, pause_ms: t.agent.pause_ms ?? 0 }
      : null,
    refs_graph: e.refs.length ? mergeGraphs(e) : null,
    findings,
    recommendations: recommendationsFor(cause, e, suspects, findings),
    notes,
  };
}

function mergeGraphs(e: Evidence): NonNullable<Diagnosis['refs_graph']> {
  const nodes = new Map<string, { id: string; label: string; kind: string; type: string }>();
  const edges: { from: string; to: string; label: string }[] = [];
  for (const r of e.refs) {
    for (const n of r.graph.nodes) nodes.set(n.id, n);
    edges.push(...r.graph.edges);
  }
  return { nodes: [...nodes.values()], edges };
}

/** Capitalises a sentence, unless it starts with a code name (gc.garbage). */
function capitalize(s: string): string {
  return /^([a-z_]+\.[a-z_]|glibc|jemalloc|tcmalloc|mimalloc)/.test(s) ? s : s.charAt(0).toUpperCase() + s.slice(1);
}
