/** The allocator-retention signal: memory the allocator holds freed, proven by a trim. Pure. */
import type { Evidence } from '../../evidence/evidence.js';
import type { CauseFinding } from '../diagnosis.js';
import type { MallocBreakdown } from '../malloc.js';
import { formatBytes } from '../../util/units.js';
import type { RssFacts } from './rss.js';

const MiB = 1024 * 1024;

/**
 * Retention is an issue when the allocator holds much freed memory now
 * (src/analyze/malloc.ts: 30 % of RSS and 32 MiB), when a trim proved it,
 * or when RSS climbs and the freed-but-held memory climbs with it (at least
 * half of the RSS growth, and 4 MiB or more in the window): fragmentation
 * growing under a service whose live data does not (test/services
 * arena_holes, after a trim had emptied the holes and they filled again:
 * +4.6 and +8.8 MiB held in 30 s, RSS +8 MiB). The RSS growth must be
 * 4 MiB or more too: the held figure is read twice, at the window's ends,
 * and on a busy service it moves by MiBs with whatever requests are in
 * flight at those two instants (busy_no_leak, no trim, settled: held +4.7
 * MiB while RSS grew 1.1 MiB). Slower fragmentation shows in a longer window.
 */
export function retentionFinding(start: MallocBreakdown | null, end: MallocBreakdown | null, e: Evidence, rss: RssFacts): CauseFinding {
  if (!end) return { cause: 'allocator-retention', status: 'insufficient-data', score: 0, summary: 'the allocator was not read', numbers: {} };
  const held = end.derived.held_free;
  const share = end.derived.retention;
  const t = e.trim;
  const released = t ? t.before.rss - t.after.rss : null;
  const proven = released !== null && held !== null && held > 0 && released >= 0.25 * held;
  const heldGrowth = held !== null && start?.derived.held_free != null ? held - start.derived.held_free : null;
  const growing = rss.growing && rss.growth >= 4 * MiB && heldGrowth !== null && heldGrowth >= Math.max(4 * MiB, 0.5 * rss.growth);
  const issue = end.finding.status === 'issue' || proven || growing;
  return {
    cause: 'allocator-retention',
    status: issue ? 'issue' : end.finding.status === 'insufficient-data' ? 'insufficient-data' : 'none',
    score: issue ? Math.min(1, Math.max(growing ? 0.6 : 0, (share ?? 0) + (proven ? 0.4 : 0))) : 0,
    summary: issue
      ? `${end.allocator.name} holds ${formatBytes(held ?? 0)} freed but not returned to the OS (${Math.round((share ?? 0) * 100)} % of RSS)` +
        (growing ? `, ${formatBytes(heldGrowth!)} more than at the start while RSS grew ${formatBytes(rss.growth)}: the free space grows, not the live data` : '') +
        (released !== null ? `; a live malloc_trim gave back ${formatBytes(released)}` : '')
      : end.finding.summary,
    numbers: { held_free: held, held_free_growth: heldGrowth, retention: share, trim_released: released, rss: end.rss },
  };
}
