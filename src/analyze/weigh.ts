/**
 * Weighs the signals' findings into the main cause: which explains the
 * growth, what else grows close behind it, and how sure the verdict is.
 * Pure. The thresholds are the signals' own (src/analyze/signals/); the
 * rules here are about how findings relate to each other.
 */
import type { Evidence } from '../evidence/evidence.js';
import type { Cause, CauseFinding } from './diagnosis.js';
import type { RssFacts } from './signals/rss.js';

export interface Weighed {
  /** Findings that are issues and explain something, strongest first. */
  ranked: CauseFinding[];
  main: CauseFinding | undefined;
  /** A second cause scoring at least 0.8 of the main one: named beside it, and the verdict is less sure. */
  runnerUp: CauseFinding | undefined;
  close: boolean;
}

export function weigh(findings: CauseFinding[], rss: RssFacts, heap: { count: number; bytes: number } | null): Weighed {
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
  const garbageExplains = heap !== null && ((heap.count > 0 && garbageGrowth >= 0.3 * heap.count) || (heap.bytes > 0 && keptGrowth >= 0.3 * heap.bytes));
  const ranked = issues.filter((f) => !((cyclic || garbageExplains) && f.cause === 'python-objects')).sort((a, b) => b.score - a.score);
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
  const strongRetention = retention && (retention.numbers.retention ?? 0) >= 0.5 && (retention.numbers.trim_released ?? 1) > 0 ? retention : undefined;
  let main: CauseFinding | undefined;
  if (rss.growing) main = growthCauses[0] ?? retention;
  else main = growthCauses.find((f) => f.score >= 0.5 && f.cause !== 'native') ?? strongRetention;
  // A second cause close behind the first: say both, and be less sure.
  const runnerUp = ranked.find((f) => f !== main && f.cause !== 'allocator-retention');
  const close = main !== undefined && runnerUp !== undefined && runnerUp.score >= 0.8 * main.score;

  return { ranked, main, runnerUp, close };
}

export function lower(c: 'high' | 'medium' | 'low', by: boolean): 'high' | 'medium' | 'low' {
  if (!by) return c;
  return c === 'high' ? 'medium' : 'low';
}

/** "Stable" is sure only when RSS did not climb at all and nothing grew beneath it. */
export function stableConfidence(rss: RssFacts, findings: CauseFinding[]): 'high' | 'medium' | 'low' {
  const somethingGrew = findings.some((f) => f.status === 'issue' || (f.numbers.steady_bytes ?? 0) > 0);
  if (rss.p_up < 0.05 || somethingGrew) return 'low';
  return findings.some((f) => f.status === 'insufficient-data') ? 'medium' : 'high';
}

export function confidenceOf(score: number, cause: Cause, e: Evidence): 'high' | 'medium' | 'low' {
  if (cause === 'allocator-retention' && e.trim && e.trim.before.rss - e.trim.after.rss > 0) return score >= 0.5 ? 'high' : 'medium';
  if (score >= 0.75) return 'high';
  if (score >= 0.4) return 'medium';
  return 'low';
}
