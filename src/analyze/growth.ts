/**
 * Which types grow between censuses, like objgraph's show_growth but
 * without a gc.collect() first (a collection can hide the leak) and with
 * bytes and rates. Pure: a series of censuses in, a finding out.
 */
import type { Census } from '../collect/census.js';
import { mannKendall, theilSenSlope } from './trend.js';

export interface TypeGrowth {
  type: string;
  module: string;
  count_start: number;
  count_end: number;
  count_delta: number;
  bytes_delta: number;
  /** Objects per second: the Theil-Sen slope through every census (the delta over the time with two). */
  count_per_s: number;
  bytes_per_s: number;
  /**
   * A steady climb rather than churn: with 5 or more censuses, a rise of the
   * count by the Mann-Kendall test at p < 0.01 (with 5 censuses every one
   * higher than the one before; with 6, all pairs in order but one); with 3
   * or 4, a rise in every interval.
   */
  steady: boolean;
  /** Mann-Kendall's one-sided p-value of a rise in the count (1 with fewer than 3 censuses). */
  p_up: number;
}

export interface GrowthFinding {
  /**
   * `issue`: some type grew in every interval; `none`: nothing did;
   * `insufficient-data`: fewer than three censuses (two show what changed,
   * only three or more tell steady growth from churn).
   */
  verdict: 'issue' | 'none' | 'insufficient-data';
  censuses: number;
  elapsed_s: number;
  total: { count_delta: number; bytes_delta: number; count_per_s: number; bytes_per_s: number };
  /** Types whose count or bytes changed, most bytes gained first. */
  types: TypeGrowth[];
  /** The longest pause a census caused. */
  max_pause_ms: number;
}

/** The Mann-Kendall level a type's climb must reach to count as steady. */
const STEADY_P = 0.01;

export function growthOf(censuses: readonly Census[]): GrowthFinding {
  const max_pause_ms = Math.max(0, ...censuses.map((c) => c.pause_ms));
  const empty = { count_delta: 0, bytes_delta: 0, count_per_s: 0, bytes_per_s: 0 };
  if (censuses.length < 2) {
    return { verdict: 'insufficient-data', censuses: censuses.length, elapsed_s: 0, total: empty, types: [], max_pause_ms };
  }
  const first = censuses[0]!;
  const last = censuses[censuses.length - 1]!;
  const elapsed_s = (last.t - first.t) / 1000;
  const times = censuses.map((c) => (c.t - first.t) / 1000);
  const rate = (values: number[]): number => theilSenSlope(values.map((v, i) => ({ t_s: times[i]!, v }))) ?? 0;
  const climbs = (values: number[]): { steady: boolean; p_up: number } => {
    if (values.length < 3) return { steady: false, p_up: 1 };
    // p < 0.01, not 0.05: every type of a busy service is tested, and the
    // few whose counts are a request's transient batches (3,000 row dicts,
    // 20,000 strings of a response body) met 0.05 by a chance order often
    // enough that one diagnose in a few dozen named them a leak (CI and the
    // zoo: arena_holes' strings, busy_no_leak's dicts). A real leak's own
    // records climb cleanly; what they keep alive is measured apart.
    const mk = mannKendall(values, STEADY_P);
    if (values.length >= 5) return { steady: mk.trend === 'up', p_up: mk.p_up };
    return { steady: values.every((c, i) => i === 0 || c > values[i - 1]!), p_up: mk.p_up };
  };

  const maps = censuses.map((c) => new Map(c.types.map((t) => [t.type, t])));
  const names = new Set(censuses.flatMap((c) => c.types.map((t) => t.type)));
  const types: TypeGrowth[] = [];
  for (const name of names) {
    const counts = maps.map((m) => m.get(name)?.count ?? 0);
    const bytes = maps.map((m) => m.get(name)?.bytes ?? 0);
    const count_delta = counts[counts.length - 1]! - counts[0]!;
    const bytes_delta = bytes[bytes.length - 1]! - bytes[0]!;
    if (count_delta === 0 && bytes_delta === 0) continue;
    const module = maps.map((m) => m.get(name)?.module).find((m) => m !== undefined) ?? '';
    types.push({
      type: name,
      module,
      count_start: counts[0]!,
      count_end: counts[counts.length - 1]!,
      count_delta,
      bytes_delta,
      count_per_s: rate(counts),
      bytes_per_s: rate(bytes),
      ...climbs(counts),
    });
  }
  types.sort((a, b) => b.bytes_delta - a.bytes_delta || b.count_delta - a.count_delta || a.type.localeCompare(b.type));
  const total = {
    count_delta: last.total.count - first.total.count,
    bytes_delta: last.total.bytes - first.total.bytes,
    count_per_s: rate(censuses.map((c) => c.total.count)),
    bytes_per_s: rate(censuses.map((c) => c.total.bytes)),
  };
  const verdict = censuses.length < 3 ? 'insufficient-data' : types.some((t) => t.steady && t.bytes_delta > 0) ? 'issue' : 'none';
  return { verdict, censuses: censuses.length, elapsed_s, total, types, max_pause_ms };
}
