/** The cyclic-garbage signal: the collector off or starved while objects pile up. Pure. */
import type { Evidence } from '../../evidence/evidence.js';
import type { CauseFinding } from '../diagnosis.js';
import { formatInteger } from '../../util/units.js';

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
      ? `the cyclic collector is ${disabled ? 'disabled (gc.disable())' : 'starved (generation 0 count ' + g.counts[0] + ' against threshold ' + g.thresholds[0] + ')'} while ${formatInteger(heap!.count)} objects accumulated` +
        (unrooted > 0 ? `; ${unrooted} of ${chains.length} sampled objects are reachable from no root` : '')
      : `the collector is ${g.enabled ? 'enabled' : 'disabled'}, thresholds ${g.thresholds.join('/')}`,
    numbers: { enabled: g.enabled ? 1 : 0, gen0_count: g.counts[0] ?? null, threshold0: g.thresholds[0] ?? null, unrooted_samples: unrooted },
  };
}
