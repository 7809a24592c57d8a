/**
 * A census as guppy's partition table: rows by type (or by module), each
 * with its share of the objects and bytes and the cumulative share of bytes.
 * Pure: census in, rows out.
 */
import type { Census, TypeCount } from '../collect/census.js';

export type GroupBy = 'type' | 'module';

export interface CensusRow {
  /** A type name, or a module name with --by module. */
  name: string;
  count: number;
  bytes: number;
  /** Share of all objects, 0..100. */
  count_pct: number;
  /** Share of all bytes, 0..100. */
  bytes_pct: number;
  /** Bytes share of this row and every row above it, 0..100. */
  cumulative_pct: number;
}

export interface CensusTable {
  by: GroupBy;
  total: { count: number; bytes: number };
  rows: CensusRow[];
  /** What the rows left out (past --top). */
  rest: { groups: number; count: number; bytes: number };
}

export function tabulateCensus(census: Pick<Census, 'total' | 'types'>, opts: { by: GroupBy; top: number }): CensusTable {
  const groups = opts.by === 'type' ? census.types.map((t) => ({ name: t.type, count: t.count, bytes: t.bytes })) : byModule(census.types);
  groups.sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.name.localeCompare(b.name));
  const { count: totalCount, bytes: totalBytes } = census.total;
  const pct = (part: number, whole: number): number => (whole > 0 ? (part / whole) * 100 : 0);
  let running = 0;
  const rows = groups.slice(0, Math.max(0, opts.top)).map((g) => {
    running += g.bytes;
    return { ...g, count_pct: pct(g.count, totalCount), bytes_pct: pct(g.bytes, totalBytes), cumulative_pct: pct(running, totalBytes) };
  });
  const shownCount = rows.reduce((s, r) => s + r.count, 0);
  return {
    by: opts.by,
    total: census.total,
    rows,
    // From the totals, not the groups: with --top the agent sends only the biggest types.
    rest: { groups: Math.max(0, groups.length - rows.length), count: totalCount - shownCount, bytes: totalBytes - running },
  };
}

function byModule(types: readonly TypeCount[]): { name: string; count: number; bytes: number }[] {
  const out = new Map<string, { name: string; count: number; bytes: number }>();
  for (const t of types) {
    const g = out.get(t.module) ?? { name: t.module, count: 0, bytes: 0 };
    g.count += t.count;
    g.bytes += t.bytes;
    out.set(t.module, g);
  }
  return [...out.values()];
}
