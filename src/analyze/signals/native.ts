/** The native signal: the C allocator's in-use bytes growing beyond what Python objects cost it. Pure. */
import type { CauseFinding } from '../diagnosis.js';
import type { MallocBreakdown } from '../malloc.js';
import { formatBytes } from '../../util/units.js';
import type { RssFacts } from './rss.js';

const MiB = 1024 * 1024;

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
