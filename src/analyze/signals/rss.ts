/**
 * RSS as the verdict sees it: the series with memwhy's own in-target steps
 * taken out, its robust slope, and whether it climbs. Pure.
 */
import type { Evidence } from '../../evidence/evidence.js';
import { leastSquaresSlope } from '../slope.js';
import { mannKendall, theilSenSlope } from '../trend.js';

const MiB = 1024 * 1024;

export interface RssFacts {
  start: number;
  end: number;
  duration_s: number;
  slope: number;
  r2: number | null;
  /** slope x duration, less tracemalloc's own memory: the growth the program caused in the window. */
  growth: number;
  growing: boolean;
  threads_start: number;
  threads_end: number;
  /** Thread count never fell and rose by 3 or more. */
  threads_climb: boolean;
  /** RSS memwhy's in-target steps added, taken out of the series before the fit. */
  memwhy_steps: number;
  /** Mann-Kendall's one-sided p-value of a rise in RSS. */
  p_up: number;
}

/**
 * The RSS series with memwhy's in-target steps taken out: each step's change
 * (last sample before it to first sample after it) is subtracted from every
 * later sample. Steps that ran in a forked child change nothing in the
 * target: correcting for them would only subtract the program's own jitter.
 */
export function withoutMemwhySteps(e: Evidence): { t: number; rss: number }[] & { removed?: number } {
  const s = e.samples;
  const shifts: { at: number; by: number }[] = [];
  for (const step of e.steps ?? []) {
    if (!step.in_target) continue;
    const before = [...s].reverse().find((x) => x.t <= step.start);
    const after = s.find((x) => x.t >= step.end);
    if (before && after) shifts.push({ at: after.t, by: after.rss - before.rss });
  }
  const out = s.map((x) => ({ t: x.t, rss: x.rss - shifts.filter((sh) => sh.at <= x.t).reduce((n, sh) => n + sh.by, 0) })) as {
    t: number;
    rss: number;
  }[] & { removed?: number };
  out.removed = shifts.reduce((n, sh) => n + sh.by, 0);
  return out;
}

export function rssFacts(e: Evidence): RssFacts {
  const s = e.samples;
  const t0 = s[0]?.t ?? 0;
  const series = withoutMemwhySteps(e);
  const points = series.map((x) => ({ t_s: (x.t - t0) / 1000, v: x.rss }));
  const fit = leastSquaresSlope(points);
  const duration_s = s.length > 1 ? (s[s.length - 1]!.t - t0) / 1000 : 0;
  const start = s[0]?.rss ?? 0;
  const end = s[s.length - 1]?.rss ?? 0;
  // tracemalloc's own tables grow with every traced block: not the program's memory.
  const overhead = e.tracemalloc.already_tracing ? 0 : (e.tracemalloc.overhead ?? 0);
  const slope = theilSenSlope(points) ?? 0;
  const mk = mannKendall(
    points.map((p) => p.v),
    0.01,
  );
  const growth = Math.max(0, slope * duration_s - overhead);
  const threads = s.map((x) => x.threads);
  const climbs = threads.every((v, i) => i === 0 || v >= threads[i - 1]!);
  return {
    start,
    end,
    duration_s,
    slope,
    r2: fit?.r2 ?? null,
    growth,
    growing: growth > Math.max(MiB, 0.02 * start) && mk.trend === 'up',
    threads_start: threads[0] ?? 0,
    threads_end: threads[threads.length - 1] ?? 0,
    threads_climb: climbs && (threads[threads.length - 1] ?? 0) - (threads[0] ?? 0) >= 3,
    memwhy_steps: series.removed ?? 0,
    p_up: mk.p_up,
  };
}
