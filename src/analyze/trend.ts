/**
 * Robust trends for short, noisy series: how fast something climbs when a
 * few points jump (Theil-Sen), and whether it climbs at all rather than
 * wanders (Mann-Kendall). Least squares (slope.ts) lets one burst of a
 * serving process's RSS, or one census taken mid-batch, tilt the line and
 * sink r²; these two look only at the order of the points.
 */
import type { Point } from './slope.js';

/** The median of every pairwise slope (Sen 1968): a quarter of the points can be wild without moving it. */
export function theilSenSlope(points: readonly Point[]): number | undefined {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dt = points[j]!.t_s - points[i]!.t_s;
      if (dt !== 0) slopes.push((points[j]!.v - points[i]!.v) / dt);
    }
  }
  if (slopes.length === 0) return undefined;
  return median(slopes);
}

/** The middle value (the mean of the middle two for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface MonotonicTrend {
  /** Kendall's S: rises minus falls over every ordered pair. */
  s: number;
  /** S over the number of pairs, -1..1: 1 when every later point is higher. */
  tau: number;
  /** One-sided p-value that a rise this consistent came from a series with no trend. */
  p_up: number;
  trend: 'up' | 'down' | 'none';
}

/**
 * The Mann-Kendall test (Mann 1945, Kendall 1975) on values in time order.
 * Below 10 points the normal approximation is poor, so the one-sided
 * p-value of S comes from its exact distribution under no trend (all n!
 * orders equally likely; ties counted as neither rise nor fall), computed
 * by the usual recurrence on inversion counts.
 */
export function mannKendall(values: readonly number[], alpha = 0.05): MonotonicTrend {
  const n = values.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) s += Math.sign(values[j]! - values[i]!);
  }
  const pairs = (n * (n - 1)) / 2;
  const tau = pairs > 0 ? s / pairs : 0;
  const pUp = n < 3 ? 1 : n <= 10 ? exactUpperTail(n, s) : normalUpperTail(n, s);
  const pDown = n < 3 ? 1 : n <= 10 ? exactUpperTail(n, -s) : normalUpperTail(n, -s);
  const trend = pUp < alpha ? 'up' : pDown < alpha ? 'down' : 'none';
  return { s, tau, p_up: pUp, trend };
}

/** P(S >= s) with no ties: S = pairs - 2 x inversions, inversions counted by Mahonian numbers. */
function exactUpperTail(n: number, s: number): number {
  const pairs = (n * (n - 1)) / 2;
  // counts[k]: permutations of n items with k inversions.
  let counts = [1];
  for (let m = 2; m <= n; m++) {
    const next = new Array<number>(counts.length + m - 1).fill(0);
    for (let k = 0; k < counts.length; k++) {
      for (let j = 0; j < m; j++) next[k + j]! += counts[k]!;
    }
    counts = next;
  }
  let total = 0;
  let tail = 0;
  for (let k = 0; k < counts.length; k++) {
    total += counts[k]!;
    if (pairs - 2 * k >= s) tail += counts[k]!;
  }
  return tail / total;
}

function normalUpperTail(n: number, s: number): number {
  const variance = (n * (n - 1) * (2 * n + 5)) / 18;
  // Continuity correction: S moves in steps of 2.
  const z = s > 0 ? (s - 1) / Math.sqrt(variance) : s < 0 ? (s + 1) / Math.sqrt(variance) : 0;
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function (Numerical Recipes' erfcc, |error| < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
