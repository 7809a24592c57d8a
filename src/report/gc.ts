/** Renders `memwhy gc`: the collector's state, gc.garbage by type with its cycles, and a collection's result. */
import type { GcCollection, GcState } from '../collect/gc.js';
import { formatBytes, formatMs } from '../util/units.js';
import { renderTable } from './table.js';

export function renderGc(pid: number, s: GcState, collection?: GcCollection): string {
  const g = s.garbage;
  const garbage = g.count === 0 ? 'gc.garbage is empty' : `${g.count} uncollectable object${g.count === 1 ? '' : 's'} in gc.garbage (${formatBytes(g.bytes)} shallow)`;
  let out = `pid ${pid} (CPython ${s.python}): ${garbage}; collector ${s.enabled ? 'enabled' : 'DISABLED'}` + `, thresholds ${s.thresholds.join('/')}, counts ${s.counts.join('/')}\n`;
  if (s.debug.length) out += `debug flags: ${s.debug.join(', ')}${s.debug.includes('DEBUG_SAVEALL') ? ' (every unreachable object is kept in gc.garbage)' : ''}\n`;
  if (s.freeze_count !== null && s.freeze_count > 0) out += `frozen (gc.freeze, never collected): ${s.freeze_count} objects\n`;
  if (s.stats) {
    out += '\n';
    out += renderTable(
      [{ header: 'generation' }, { header: 'collections' }, { header: 'collected' }, { header: 'uncollectable' }],
      s.stats.map((st) => [String(st.generation), String(st.collections), String(st.collected), String(st.uncollectable)]),
    );
  }
  for (const grp of g.groups) {
    out += `\n${grp.type}: ${grp.count} object${grp.count === 1 ? '' : 's'}, ${formatBytes(grp.bytes)}${grp.has_del ? ', defines __del__' : ''}\n`;
    for (const sample of grp.samples) out += `    ${sample}\n`;
    if (grp.cycle) {
      out += `  cycle (* defines __del__): ${grp.cycle.map((h) => h.label + (h.has_del ? '*' : '')).join(' -> ')}\n`;
    }
  }
  if (collection) out += '\n' + renderCollection(collection);
  if (g.count > 0 || collection) out += '\n' + s.notes.map((n) => `note: ${n}`).join('\n') + '\n';
  return out;
}

export function renderCollection(c: GcCollection): string {
  let out =
    `gc.collect(${c.generation}) took ${formatMs(c.duration_ms)}: found ${c.unreachable} unreachable objects; ` +
    `freed ${c.freed.objects} tracked objects, ${formatBytes(c.freed.bytes)} (tracked objects ${c.before.tracked} -> ${c.after.tracked}); ` +
    `gc.garbage now holds ${c.garbage}\n`;
  if (c.freed.types.length) {
    out += renderTable(
      [{ header: 'freed' }, { header: 'type', align: 'left' }],
      c.freed.types.map((t) => [String(t.count), t.type]),
    );
  }
  return out;
}
