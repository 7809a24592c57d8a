/** Terminal text for `memwhy analyze`: one heap dump's holders and types, or what two dumps differ by. */
import type { HeapAnalysis, HeapDiff, HeapSummary, Part, TypeTotal } from '../analyze/retainers.js';
import { formatBytes, formatInteger, formatMs } from '../util/units.js';
import { renderTable } from './table.js';

function describeDump(s: HeapSummary): string {
  const when = new Date(s.dumped_at * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return `${s.path}: CPython ${s.python}, pid ${s.pid}, dumped ${when} (longest pause ${formatMs(s.pause_ms)})`;
}

function mostly(types: readonly TypeTotal[]): string {
  return types.map((t) => `${t.type} ${formatBytes(t.bytes)}`).join(', ');
}

function parts(list: readonly Part[]): string {
  return list.map((p) => `${p.label} ${formatBytes(p.bytes)}`).join(', ');
}

export function renderHeapAnalysis(a: HeapAnalysis): string {
  const s = a.summary;
  let out = `${describeDump(s)}\n`;
  out += `${formatInteger(s.objects)} objects, ${formatBytes(s.bytes)}, ${formatInteger(s.references)} references\n`;
  const first = a.retainers.find((r) => r.kind !== 'unreferenced' && r.kind !== 'shared');
  if (first) {
    out +=
      `\nLargest holder: ${first.name} retains ${formatBytes(first.retained_bytes)} in ${formatInteger(first.retained_count)} objects` +
      ` (${((100 * first.bytes) / Math.max(1, s.bytes)).toFixed(0)}% of the heap counted under it)\n`;
  }
  out += '\nHolders (each object counted once, under the nearest holder with a name that keeps it alive)\n';
  out += renderTable(
    [{ header: 'BYTES' }, { header: 'OBJECTS' }, { header: 'HOLDER', align: 'left' }, { header: 'MOSTLY', align: 'left' }, { header: 'LARGEST PARTS', align: 'left' }],
    a.retainers.map((r) => [formatBytes(r.bytes), formatInteger(r.count), r.name, mostly(r.types), parts(r.largest)]),
    { width: process.stdout.columns },
  );
  out += '\nTypes (shallow sizes)\n';
  out += renderTable(
    [{ header: 'BYTES' }, { header: 'OBJECTS' }, { header: 'TYPE', align: 'left' }],
    a.types.map((t) => [formatBytes(t.bytes), formatInteger(t.count), t.type]),
  );
  if (s.unreferenced_roots > 0 || s.dropped_references > 0) {
    out += `\n${formatInteger(s.unreferenced_roots)} objects had no referrer in the dump (held by C code, or garbage not yet collected)`;
    out += s.dropped_references > 0 ? `; ${formatInteger(s.dropped_references)} references to memwhy's own objects were left out\n` : '\n';
  }
  return out;
}

const signed = (n: number): string => (n >= 0 ? `+${formatBytes(n)}` : formatBytes(n));

export function renderHeapDiff(d: HeapDiff): string {
  const growth = d.after.bytes - d.before.bytes;
  let out = `${d.finding.status === 'issue' ? 'Grew' : 'Verdict'}: ${d.finding.summary}\n`;
  out +=
    `  ${signed(growth)} (${formatBytes(d.before.bytes)} -> ${formatBytes(d.after.bytes)}), ` +
    `${formatInteger(d.after.objects - d.before.objects)} objects; new: ${formatInteger(d.new_objects.count)} objects, ${formatBytes(d.new_objects.bytes)}; ` +
    `gone: ${formatInteger(d.gone_objects.count)} objects, ${formatBytes(d.gone_objects.bytes)}\n`;
  out += `  before: ${describeDump(d.before)}\n  after:  ${describeDump(d.after)}\n`;
  out += '\nNew objects by holder (in the later dump)\n';
  out += renderTable(
    [{ header: 'BYTES' }, { header: 'OBJECTS' }, { header: 'HOLDER', align: 'left' }],
    d.new_by_holder.map((h) => [formatBytes(h.bytes), formatInteger(h.count), h.name]),
    { width: process.stdout.columns },
  );
  out += '\nNew objects by type\n';
  out += renderTable(
    [{ header: 'BYTES' }, { header: 'OBJECTS' }, { header: 'TYPE', align: 'left' }],
    d.new_by_type.map((t) => [formatBytes(t.bytes), formatInteger(t.count), t.type]),
  );
  out += '\nHolders that changed most\n';
  out += renderTable(
    [{ header: 'CHANGE' }, { header: 'BEFORE' }, { header: 'AFTER' }, { header: 'HOLDER', align: 'left' }],
    d.holders.map((c) => [signed(c.delta_bytes), formatBytes(c.before_bytes), formatBytes(c.after_bytes), c.name]),
    { width: process.stdout.columns },
  );
  out += `\nNote: ${d.caveat}.\n`;
  return out;
}
