/** One-line charts of a series with the eight block characters. */

const BARS = '▁▂▃▄▅▆▇█';

/** Averages `values` into `width` consecutive buckets whose sizes differ by at most one. */
function downsample(values: readonly number[], width: number): number[] {
  if (values.length <= width) return [...values];
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    const from = Math.floor((i * values.length) / width);
    const to = Math.floor(((i + 1) * values.length) / width);
    let sum = 0;
    for (let j = from; j < to; j++) sum += values[j]!;
    out.push(sum / (to - from));
  }
  return out;
}

/**
 * Scales min..max of the series onto ▁..█, one character per value, averaging
 * down to `width` characters when there are more values. A flat series is a
 * row of ▄: "no change", not "at the bottom".
 */
export function sparkline(values: readonly number[], width?: number): string {
  const points = width !== undefined && width > 0 ? downsample(values, Math.floor(width)) : [...values];
  if (points.length === 0) return '';
  const min = Math.min(...points);
  const max = Math.max(...points);
  if (max === min) return BARS[3]!.repeat(points.length);
  const top = BARS.length - 1;
  return points.map((v) => BARS[Math.round(((v - min) / (max - min)) * top)]!).join('');
}
