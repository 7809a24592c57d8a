/** Renders `memwhy heap`: guppy's partition table, verdict line first. */
import type { CensusTable } from '../analyze/census.js';
import { formatBytes, formatMs } from '../util/units.js';
import { renderTable } from './table.js';

export interface HeapReport {
  pid: number;
  table: CensusTable;
  /** The longest single hold of the GIL by the census (it shares the GIL between steps). */
  pause_ms: number;
  /** The whole census, start to end (absent from older agents). */
  wall_ms?: number;
  objects_per_s: number | null;
}

export function renderHeap(r: HeapReport): string {
  const { table } = r;
  const top = table.rows[0];
  const lead = top ? `; most bytes in ${table.by === 'type' ? '' : 'module '}${top.name} (${formatBytes(top.bytes)}, ${pct(top.bytes_pct)})` : '';
  let out =
    `pid ${r.pid}: ${formatCount(table.total.count)} live objects, ${formatBytes(table.total.bytes)} (shallow)${lead}\n` +
    `census took ${r.wall_ms !== undefined ? formatMs(r.wall_ms) : 'an unknown time'}, holding off the target's other threads ${formatMs(r.pause_ms)} at most at a time` +
    (r.objects_per_s ? ` (${formatCount(r.objects_per_s)} objects/s)` : '') +
    '\n\n';
  const rows = table.rows.map((row, i) => [String(i), String(row.count), pct(row.count_pct), formatBytes(row.bytes), pct(row.bytes_pct), pct(row.cumulative_pct), row.name]);
  out += renderTable([{ header: '#' }, { header: 'count' }, { header: '%' }, { header: 'bytes' }, { header: '%' }, { header: 'cum %' }, { header: table.by, align: 'left' }], rows);
  if (table.rest.groups > 0 || table.rest.count > 0) {
    const what = table.rest.groups > 0 ? `${table.rest.groups} more ${table.by === 'type' ? 'types' : 'modules'}` : 'the rest';
    out += `... ${what}: ${table.rest.count} objects, ${formatBytes(table.rest.bytes)}\n`;
  }
  return out;
}

export function pct(v: number): string {
  return `${v.toFixed(1)}%`;
}

/** 3.0 M, 426 k, 950. */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)} k`;
  return String(n);
}
