/**
 * Which of a master's workers to diagnose: the one whose RSS grows fastest,
 * or, when none grows, the biggest (a slow leak has had the worker's whole
 * life to pile up). Pure: the watch in, the choice and its numbers out.
 *
 * Thresholds, and why:
 * - A worker "grows" when its fitted slope over the window adds more than
 *   max(1 MiB, 2 % of its RSS), as diagnose's own verdict requires
 *   (src/analyze/verdict.ts: idle interpreters drift +-300 KiB over 30 s),
 *   and its RSS ended higher than it began.
 * - r² >= 0.5, looser than the verdict's 0.8: a leak driven by requests
 *   rises in steps, and the pre-window is short (10 s by default); the
 *   step left by one big request is still filtered out.
 */
import type { WatchedProcess, WorkersWatch } from '../collect/workers.js';
import { leastSquaresSlope } from './slope.js';

const MiB = 1024 * 1024;
const MIN_R2 = 0.5;

export interface WorkerTrend {
  pid: number;
  parent: number | null;
  role: WatchedProcess['role'];
  rss_start: number;
  rss_end: number;
  /** Bytes per second; null with fewer than two samples. */
  slope_bytes_per_s: number | null;
  r2: number | null;
  /** Seconds from the first sample to the last. */
  elapsed_s: number;
  growing: boolean;
  exited: boolean;
}

export interface WorkerChoice {
  pid: number;
  /** fastest-growth: it grows, faster than any other; biggest: none grows, it has the largest RSS. */
  reason: 'fastest-growth' | 'biggest';
  /** The runner-up: the next fastest (fastest-growth) or next biggest (biggest), when there is one. */
  next: number | null;
  /** The master grows faster than the chosen worker (it is never attached: the user may diagnose it alone). */
  master_grows_faster: boolean;
  master: WorkerTrend;
  /** Every worker, the chosen first, then by slope. */
  workers: WorkerTrend[];
}

export function trendOf(p: WatchedProcess): WorkerTrend {
  const first = p.samples[0];
  const last = p.samples[p.samples.length - 1];
  const fit = first ? leastSquaresSlope(p.samples.map((s) => ({ t_s: (s.t - first.t) / 1000, v: s.rss }))) : undefined;
  const elapsed_s = first && last ? (last.t - first.t) / 1000 : 0;
  const rss_start = first?.rss ?? 0;
  const rss_end = last?.rss ?? 0;
  const slope = fit?.slope ?? null;
  const growing = slope !== null && slope * elapsed_s > Math.max(MiB, 0.02 * rss_start) && rss_end > rss_start && (fit?.r2 ?? 0) >= MIN_R2;
  return {
    pid: p.pid,
    parent: p.parent,
    role: p.role,
    rss_start,
    rss_end,
    slope_bytes_per_s: slope,
    r2: fit?.r2 ?? null,
    elapsed_s,
    growing,
    exited: p.exited,
  };
}

/**
 * The worker to diagnose, or undefined when every worker exited during the
 * window. Workers that exited are never chosen (gunicorn's --max-requests
 * replaces them: the replacement was not watched).
 */
export function chooseWorker(watch: WorkersWatch): WorkerChoice | undefined {
  const trends = watch.workers.map(trendOf);
  const master = trendOf(watch.master);
  const live = trends.filter((t) => !t.exited && t.rss_end > 0);
  if (live.length === 0) return undefined;
  const bySlope = [...live].sort((a, b) => (b.slope_bytes_per_s ?? 0) - (a.slope_bytes_per_s ?? 0) || b.rss_end - a.rss_end || a.pid - b.pid);
  const growing = bySlope.filter((t) => t.growing);
  let chosen: WorkerTrend;
  let next: WorkerTrend | undefined;
  let reason: WorkerChoice['reason'];
  if (growing.length > 0) {
    chosen = growing[0]!;
    next = bySlope[1];
    reason = 'fastest-growth';
  } else {
    const bySize = [...live].sort((a, b) => b.rss_end - a.rss_end || a.pid - b.pid);
    chosen = bySize[0]!;
    next = bySize[1];
    reason = 'biggest';
  }
  const rest = trends.filter((t) => t !== chosen).sort((a, b) => (b.slope_bytes_per_s ?? -Infinity) - (a.slope_bytes_per_s ?? -Infinity) || a.pid - b.pid);
  return {
    pid: chosen.pid,
    reason,
    next: next?.pid ?? null,
    master_grows_faster: master.growing && (master.slope_bytes_per_s ?? 0) > (chosen.slope_bytes_per_s ?? 0),
    master,
    workers: [chosen, ...rest],
  };
}
