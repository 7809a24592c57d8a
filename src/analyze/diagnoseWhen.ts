/**
 * When `memwhy watch --diagnose-when` takes a diagnosis: pure rules on the
 * watcher's readings. A rule fires on one process at one moment; the
 * scheduler (watch/diagnoser.ts) decides whether a diagnosis may run now.
 *
 *   growth>RATE/for DURATION   RSS rose faster than RATE over the last
 *                              DURATION, steadily (r² >= 0.5, so one burst
 *                              does not trip it), fitted from the last reading
 *                              at or before DURATION ago (a process watched
 *                              for less than DURATION waits).
 *   cgroup>PERCENT%            the process's cgroup uses more than PERCENT of
 *                              its memory limit (memory.max, which the OOM
 *                              killer enforces); never fires without a limit.
 */
import { leastSquaresSlope, type Point } from './slope.js';

export type DiagnoseRule = { kind: 'growth'; bytesPerSecond: number; forS: number } | { kind: 'cgroup-share'; share: number };

export interface RuleInput {
  /** RSS readings, oldest first, t_s in seconds since the epoch. */
  rss: readonly Point[];
  nowS: number;
  cgroup?: { limit?: number; current: number };
}

export interface RuleHit {
  trigger: DiagnoseRule['kind'];
  /** The figures that made it fire, in a sentence for the log. */
  detail: string;
}

/** Half the variance explained: a climb, not a single jump. */
const MIN_R2 = 0.5;

export function checkRule(rule: DiagnoseRule, input: RuleInput): RuleHit | undefined {
  if (rule.kind === 'cgroup-share') {
    const c = input.cgroup;
    if (!c || c.limit === undefined || c.limit <= 0) return undefined;
    const share = c.current / c.limit;
    if (share <= rule.share) return undefined;
    return { trigger: 'cgroup-share', detail: `cgroup at ${pct(share)} of its memory limit (${c.current} of ${c.limit} bytes)` };
  }
  // From the last reading at or before the span's start, so the fit covers the whole span whatever the
  // sampling interval; a process watched for less than the span has no such reading and waits.
  const since = input.nowS - rule.forS;
  let first = -1;
  for (let i = 0; i < input.rss.length && input.rss[i]!.t_s <= since; i++) first = i;
  if (first < 0) return undefined;
  const recent = input.rss.slice(first);
  if (recent.length < 3) return undefined;
  const fit = leastSquaresSlope(recent);
  if (!fit || fit.slope <= rule.bytesPerSecond || fit.r2 < MIN_R2) return undefined;
  return {
    trigger: 'growth',
    detail: `RSS grew ${Math.round(fit.slope)} B/s over ${Math.round(rule.forS)} s (r² ${fit.r2.toFixed(2)}), above ${Math.round(rule.bytesPerSecond)} B/s`,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
