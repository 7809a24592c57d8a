/** The python-objects signal: Python types that climb steadily across the censuses. Pure. */
import type { Census } from '../../collect/census.js';
import type { RefsResult } from '../../collect/refs.js';
import type { CauseFinding } from '../diagnosis.js';
import type { GrowthFinding } from '../growth.js';
import { rankSuspects } from '../suspects.js';
import { median } from '../trend.js';
import { formatBytes, formatInteger, formatRate } from '../../util/units.js';
import type { RssFacts } from './rss.js';

export function heapDelta(c: readonly Census[]): { count: number; bytes: number } | null {
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

/**
 * A handful of big objects climbing across five censuses is as likely a
 * chance order of transient buffers as a leak (Mann-Kendall's p <= 5/120 is
 * met by one ordering in 24, and every type is tested): CI saw arena_holes
 * called python-objects for +8 bytes objects of 2.5 MiB, its request
 * buffers, at most two alive at a time. A leak of so few objects needs a
 * longer window; the zoo's leaks add hundreds to thousands.
 */
const STEADY_MIN_OBJECTS = 16;

/**
 * A leak climbs through the window: its robust slope accounts for a good
 * part of its first-to-last change. One step and a flat line after it (a
 * busy service's 3,000 transient rows alive in four requests at every
 * census but the first, each census a few more) passes the rank test, since
 * every pair is in order, but its slope says a handful of objects; CI saw
 * busy_no_leak called python-objects from it. A third leaves room for a
 * transient batch at either end of a real climb.
 */
function climbsThroughout(t: { count_delta: number; count_per_s: number }, elapsedS: number): boolean {
  const implied = t.count_per_s * elapsedS;
  return implied >= STEADY_MIN_OBJECTS && implied >= t.count_delta / 3;
}

/** What the new instances of one steady type keep alive, from its sampled instances. */
export interface KeptEstimate {
  type: string;
  /** Median over the samples of what one instance keeps alive, itself included. */
  per_instance: number;
  samples: number;
  /** per_instance times the type's growth, capped by the heap's measured growth. */
  bytes: number;
}

/**
 * A steady type's shallow bytes undercount a leak whose records own big
 * parts (an audit record of 56 bytes keeping a list of 80 strings): when
 * those parts' own type does not climb in every census (the same type is
 * also a request's transient working set), the steady bytes alone fall
 * under the bar and a real leak read as unexplained growth (CI, uwsgi_leak).
 * The referrer probe's samples say what one instance keeps alive; the
 * median of them times the type's growth, never more than the heap or
 * tracemalloc measured growing, is the leak's size.
 */
export function keptByNewInstances(steady: readonly { type: string; count_delta: number }[], refs: readonly RefsResult[], cap: number): KeptEstimate | null {
  let best: KeptEstimate | null = null;
  for (const t of steady) {
    const r = refs.find((x) => x.type === t.type);
    const kept = (r?.chains ?? []).map((c) => c.kept_bytes).filter((b): b is number => typeof b === 'number' && b > 0);
    if (kept.length === 0) continue;
    const per_instance = median(kept);
    const bytes = Math.max(0, Math.min(per_instance * t.count_delta, cap));
    if (!best || bytes > best.bytes) best = { type: t.type, per_instance, samples: kept.length, bytes };
  }
  return best;
}

/** "about +12 MiB an hour at this rate". */
export function hourly(bytesPerS: number): string {
  return `about ${bytesPerS >= 0 ? '+' : '-'}${formatBytes(Math.abs(bytesPerS) * 3600)} an hour at this rate`;
}

export function pythonObjectsFinding(
  rss: RssFacts,
  censuses: readonly Census[],
  growth: GrowthFinding | null,
  tracedInWindow: number | null,
  refs: readonly RefsResult[] = [],
): CauseFinding {
  const d = heapDelta(censuses);
  if (!d || !growth) {
    return { cause: 'python-objects', status: 'insufficient-data', score: 0, summary: 'no two heap censuses to compare', numbers: {} };
  }
  const steady = growth.types.filter((t) => t.steady && t.bytes_delta > 0 && t.count_delta >= STEADY_MIN_OBJECTS && climbsThroughout(t, growth.elapsed_s));
  const steadyBytes = steady.reduce((n, t) => n + t.bytes_delta, 0);
  const steadyRate = steady.reduce((n, t) => n + Math.max(0, t.bytes_per_s), 0);
  const kept = keptByNewInstances(steady, refs, Math.max(d.bytes, tracedInWindow ?? 0));
  const steadyOrKept = Math.max(steadyBytes, kept?.bytes ?? 0);
  // The rate said beside the size: of what the leak keeps when that is the larger measure.
  const rate = kept && kept.bytes > steadyBytes && growth.elapsed_s > 0 ? kept.bytes / growth.elapsed_s : steadyRate;
  // Shallow sizes leave out allocator overhead; what tracemalloc saw allocated
  // in the window and still live is the fuller measure when there is one.
  // With fewer than 5 censuses (a window cut short), the first-to-last change stands in for the steady part.
  const measured = censuses.length >= 5 ? steadyOrKept : Math.max(steadyOrKept, d.bytes);
  const pyBytes = tracedInWindow === null ? measured : Math.max(steadyOrKept, Math.min(d.bytes, tracedInWindow));
  const share = rss.growth > 0 ? pyBytes / rss.growth : null;
  // With 5+ censuses, only a steady climb counts: a batch alive at the last
  // census is not a leak. With fewer, the old rule: the first-to-last change.
  const judged = censuses.length >= 5 ? steadyOrKept : Math.max(steadyOrKept, d.bytes);
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
        (steady.length > 0 ? `, climbing in every census (${formatRate(rate)}, ${hourly(rate)})` : '') +
        (top
          ? `; most of it ${top.type} (+${formatInteger(top.count_delta)} objects, +${formatBytes(top.bytes_delta)}, ${top.count_per_s >= 1 ? `+${top.count_per_s.toFixed(0)}` : `+${top.count_per_s.toFixed(2)}`} instances/s)`
          : '') +
        (kept && kept.bytes > steadyBytes
          ? `; each new ${kept.type} keeps about ${formatBytes(kept.per_instance)} alive with it (median of ${kept.samples} sampled), ${formatBytes(kept.bytes)} for the ones added`
          : '') +
        (share !== null && rss.growing ? `; Python allocations explain ${Math.round(Math.min(share, 1) * 100)} % of the RSS growth` : '') +
        // The whole heap also moves with what requests hold for a moment: say
        // so, or the two figures read as a contradiction.
        (Math.abs(d.bytes - judged) > Math.max(judged, 256 * 1024)
          ? ` (the heap as a whole changed by ${d.bytes >= 0 ? '+' : '-'}${formatBytes(Math.abs(d.bytes))} from the first census to the last, the rest of it churn)`
          : '')
      : steadyBytes > 0
        ? `Python objects that climb steadily grew by ${formatBytes(steadyBytes)}, too little to explain the memory`
        : `no Python type climbed steadily across the ${censuses.length} censuses (the heap changed by ${formatBytes(d.bytes)})`,
    numbers: {
      heap_bytes_delta: d.bytes,
      heap_count_delta: d.count,
      steady_bytes: steadyBytes,
      steady_bytes_per_s: steadyRate,
      kept_by_new_instances: kept?.bytes ?? null,
      traced_in_window: tracedInWindow,
      share_of_rss_growth: share,
      steady_types: steady.length,
    },
  };
}
