/** The numbers `memwhy rss` reports about a series of samples: pure, no I/O. */
import type { MemorySample } from '../collect/rss.js';
import { leastSquaresSlope } from './slope.js';

export interface RssSummary {
  rss_start: number;
  rss_end: number;
  rss_min: number;
  rss_max: number;
  /** Seconds from the first sample to the last. */
  elapsed_s: number;
  /** Null with fewer than two samples. */
  slope_bytes_per_s: number | null;
  r2: number | null;
}

export function summarizeRss(samples: readonly MemorySample[]): RssSummary | undefined {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last) return undefined;
  const rss = samples.map((s) => s.rss);
  const fit = leastSquaresSlope(samples.map((s) => ({ t_s: (s.t - first.t) / 1000, v: s.rss })));
  return {
    rss_start: first.rss,
    rss_end: last.rss,
    rss_min: Math.min(...rss),
    rss_max: Math.max(...rss),
    elapsed_s: (last.t - first.t) / 1000,
    slope_bytes_per_s: fit ? fit.slope : null,
    r2: fit ? fit.r2 : null,
  };
}
