/** The python-objects signal: Python types that climb steadily across the censuses. Pure. */
import type { Census } from '../../collect/census.js';
import type { CauseFinding } from '../diagnosis.js';
import type { GrowthFinding } from '../growth.js';
import { rankSuspects } from '../suspects.js';
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
  const steady = growth.types.filter((t) => t.steady && t.bytes_delta > 0 && t.count_delta >= STEADY_MIN_OBJECTS);
  const steadyBytes = steady.reduce((n, t) => n + t.bytes_delta, 0);
  const steadyRate = steady.reduce((n, t) => n + Math.max(0, t.bytes_per_s), 0);
  // Shallow sizes leave out allocator overhead; what tracemalloc saw allocated
  // in the window and still live is the fuller measure when there is one.
  // With fewer than 5 censuses (a window cut short), the first-to-last change stands in for the steady part.
  const measured = censuses.length >= 5 ? steadyBytes : Math.max(steadyBytes, d.bytes);
  const pyBytes = tracedInWindow === null ? measured : Math.max(steadyBytes, Math.min(d.bytes, tracedInWindow));
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
          ? `; most of it ${top.type} (+${formatInteger(top.count_delta)} objects, +${formatBytes(top.bytes_delta)}, ${top.count_per_s >= 1 ? `+${top.count_per_s.toFixed(0)}` : `+${top.count_per_s.toFixed(2)}`} instances/s)`
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
      traced_in_window: tracedInWindow,
      share_of_rss_growth: share,
      steady_types: steady.length,
    },
  };
}
