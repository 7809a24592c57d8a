/** Renders `memwhy growth`: which types grew between censuses, verdict first. */
import type { GrowthFinding } from '../analyze/growth.js';
import { formatBytesDelta, formatMs, formatRateDelta, formatSeconds } from '../util/units.js';
import { renderTable } from './table.js';

/** The command's options for more censuses and more rows, as it names them ("--times"), for the hints. */
export interface GrowthFlags {
  times: string;
  top: string;
}

export function renderGrowth(pid: number, g: GrowthFinding, top: number, flags?: GrowthFlags): string {
  const lead = g.types[0];
  const over = `over ${formatSeconds(g.elapsed_s)} (${g.censuses} censuses)`;
  let head: string;
  if (g.censuses < 2) head = `pid ${pid}: one census only: nothing to compare`;
  else if (g.verdict === 'issue' && lead) {
    const steady = g.types.find((t) => t.steady && t.bytes_delta > 0)!;
    head = `pid ${pid}: ${steady.type} grows steadily: ${signed(steady.count_delta)} objects, ${formatBytesDelta(steady.bytes_delta)} ${over}, ${rateText(steady.count_per_s)} objects/s`;
  } else if (g.types.length === 0) head = `pid ${pid}: no type changed ${over}`;
  else if (g.verdict === 'insufficient-data')
    head = `pid ${pid}: heap ${formatBytesDelta(g.total.bytes_delta)} ${over}; take 3 or more censuses${flags ? ` (${flags.times})` : ''} to tell steady growth from churn`;
  else head = `pid ${pid}: no type grew in every interval ${over}; heap ${formatBytesDelta(g.total.bytes_delta)}`;
  let out = head + '\n';
  out += `heap: ${signed(g.total.count_delta)} objects, ${formatBytesDelta(g.total.bytes_delta)} (${formatRateDelta(g.total.bytes_per_s)}); longest census pause ${formatMs(g.max_pause_ms)}\n`;
  if (g.types.length === 0) return out;
  out += '\n';
  const rows = g.types
    .slice(0, top)
    .map((t) => [String(t.count_end), signed(t.count_delta), formatBytesDelta(t.bytes_delta), rateText(t.count_per_s), formatRateDelta(t.bytes_per_s), t.steady ? 'yes' : '', t.type]);
  out += renderTable(
    [
      { header: 'count' },
      { header: 'Δ count' },
      { header: 'Δ bytes' },
      { header: 'objects/s' },
      { header: 'bytes/s' },
      { header: 'steady', align: 'left' },
      { header: 'type', align: 'left' },
    ],
    rows,
  );
  if (g.types.length > top) out += `... ${g.types.length - top} more type${g.types.length - top === 1 ? '' : 's'} changed${flags ? ` (${flags.top})` : ''}\n`;
  return out;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

function rateText(n: number): string {
  const text = Math.abs(n) >= 10 ? n.toFixed(0) : n.toFixed(1);
  return n > 0 ? `+${text}` : text;
}
