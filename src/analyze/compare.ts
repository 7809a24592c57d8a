/**
 * The numbers `memwhy compare` reports: per run, the RSS peak, the RSS left
 * at the end and the time-weighted mean; per allocator, the median over
 * repeated runs, and which allocator kept the least memory on average.
 * Pure: samples in, numbers out.
 */
import { median } from './trend.js';

/** One RSS sample: seconds since the run started, bytes. */
export type RssPoint = readonly [t_s: number, rss: number];

/** What a run left behind: saved as is in `compare --json`. */
export interface RunEvidence {
  allocator: string;
  exit_code: number;
  wall_s: number;
  samples: RssPoint[];
  /** The kernel's RSS peak (VmHWM) at the last sample; 0 when unknown. */
  hwm: number;
}

export interface RunRecord {
  allocator: string;
  peak_rss: number;
  final_rss: number;
  mean_rss: number;
  wall_s: number;
  exit_code: number;
  samples: RssPoint[];
}

export interface AllocatorSummary {
  allocator: string;
  runs: number;
  /** Medians over the runs. */
  peak_rss: number;
  final_rss: number;
  mean_rss: number;
  wall_s: number;
  exit_codes: number[];
  /** mean_rss relative to the first allocator's: -0.4 is 40 % less. */
  mean_vs_first: number | null;
  /** The lowest mean RSS among allocators whose runs all exited 0. */
  lowest_mean: boolean;
}

/**
 * The mean of RSS over time, each sample weighted by the time until the
 * next (trapezoids), so uneven sampling does not skew it.
 */
export function timeWeightedMean(samples: readonly RssPoint[]): number {
  if (samples.length === 0) return 0;
  const span = samples[samples.length - 1]![0] - samples[0]![0];
  if (samples.length === 1 || span <= 0) return samples.reduce((sum, [, rss]) => sum + rss, 0) / samples.length;
  let area = 0;
  for (let i = 1; i < samples.length; i++) {
    const [t0, r0] = samples[i - 1]!;
    const [t1, r1] = samples[i]!;
    area += ((r0 + r1) / 2) * (t1 - t0);
  }
  return area / span;
}

export function describeRun(run: RunEvidence): RunRecord {
  const rss = run.samples.map(([, r]) => r);
  return {
    allocator: run.allocator,
    // The kernel's high-water mark catches a peak between two samples.
    peak_rss: rss.reduce((a, b) => Math.max(a, b), Math.max(run.hwm, 0)),
    // The last sample before exit: what the allocator kept once load dropped.
    final_rss: rss[rss.length - 1] ?? 0,
    mean_rss: Math.round(timeWeightedMean(run.samples)),
    wall_s: run.wall_s,
    exit_code: run.exit_code,
    samples: run.samples,
  };
}

/** One row per allocator, in the order they first appear in `runs`. */
export function summarizeComparison(runs: readonly RunRecord[]): AllocatorSummary[] {
  const order = [...new Set(runs.map((r) => r.allocator))];
  const rows = order.map((allocator) => {
    const mine = runs.filter((r) => r.allocator === allocator);
    const pick = (f: (r: RunRecord) => number): number => median(mine.map(f));
    return {
      allocator,
      runs: mine.length,
      peak_rss: pick((r) => r.peak_rss),
      final_rss: pick((r) => r.final_rss),
      mean_rss: pick((r) => r.mean_rss),
      wall_s: pick((r) => r.wall_s),
      exit_codes: mine.map((r) => r.exit_code),
      mean_vs_first: null as number | null,
      lowest_mean: false,
    };
  });
  const first = rows[0];
  for (const row of rows) {
    row.mean_vs_first = first && first.mean_rss > 0 ? row.mean_rss / first.mean_rss - 1 : null;
  }
  // A run that failed may have stopped early with little memory: it cannot win.
  const eligible = rows.filter((r) => r.exit_codes.every((c) => c === 0) && r.mean_rss > 0);
  const lowest = eligible.reduce<AllocatorSummary | undefined>((best, r) => (!best || r.mean_rss < best.mean_rss ? r : best), undefined);
  if (lowest) lowest.lowest_mean = true;
  return rows;
}
