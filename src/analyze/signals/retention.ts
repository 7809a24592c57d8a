/** The allocator-retention signal: memory the allocator holds freed, proven by a trim. Pure. */
import type { Evidence } from '../../evidence/evidence.js';
import type { CauseFinding } from '../diagnosis.js';
import type { MallocBreakdown } from '../malloc.js';
import { formatBytes } from '../../util/units.js';

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
