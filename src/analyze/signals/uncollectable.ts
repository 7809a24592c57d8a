/** The uncollectable signal: gc.garbage, and what it keeps alive. Pure. */
import type { Evidence } from '../../evidence/evidence.js';
import type { CauseFinding } from '../diagnosis.js';
import { formatBytes, formatInteger } from '../../util/units.js';

export function uncollectableFinding(e: Evidence): CauseFinding {
  const a = e.gc.start;
  const b = e.gc.end;
  if (!a || !b) return { cause: 'uncollectable', status: 'insufficient-data', score: 0, summary: 'the collector state was not read', numbers: {} };
  const grew = b.garbage.count - a.garbage.count;
  const issue = grew > 0 || b.garbage.count > 1000;
  const group = b.garbage.groups[0];
  return {
    cause: 'uncollectable',
    status: issue ? 'issue' : 'none',
    score: issue ? (grew > 0 ? 0.95 : 0.5) : 0,
    summary: issue
      ? `gc.garbage holds ${formatInteger(b.garbage.count)} objects the collector cannot free (${grew >= 0 ? '+' : ''}${formatInteger(grew)} in the window)` +
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
