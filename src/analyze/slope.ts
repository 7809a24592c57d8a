/** Least-squares line through a series: how fast a number grows, and how steadily. */

export interface Point {
  /** Seconds, from any origin. */
  t_s: number;
  v: number;
}

export interface LineFit {
  /** Units of v per second (bytes/s for memory). */
  slope: number;
  /** v at t_s = 0. */
  intercept: number;
  /** Coefficient of determination, 0..1: how much of v's variation the line explains. */
  r2: number;
}

/**
 * Ordinary least squares. Undefined when no line is determined: fewer than
 * two points, or all at one time. A series the line fits exactly (including
 * a constant one) has r2 = 1: nothing is left unexplained.
 */
export function leastSquaresSlope(points: readonly Point[]): LineFit | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  // Decided exactly, before any rounding in the sums can report a tilt or a spread.
  const { t_s: t0, v: v0 } = points[0]!;
  if (points.every((p) => p.t_s === t0)) return undefined;
  if (points.every((p) => p.v === v0)) return { slope: 0, intercept: v0, r2: 1 };
  // Work with deviations from the means: raw sums of squares lose precision on large values.
  let sumT = 0;
  let sumV = 0;
  for (const p of points) {
    sumT += p.t_s;
    sumV += p.v;
  }
  const meanT = sumT / n;
  const meanV = sumV / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    const dt = p.t_s - meanT;
    const dv = p.v - meanV;
    sxx += dt * dt;
    sxy += dt * dv;
    syy += dv * dv;
  }
  const slope = sxy / sxx;
  const intercept = meanV - slope * meanT;
  const ssRes = Math.max(0, syy - slope * sxy);
  // Relative to the spread of v, so float residue on a perfect line still reads as 1.
  const r2 = ssRes <= syy * 1e-12 ? 1 : 1 - ssRes / syy;
  return { slope, intercept, r2 };
}
