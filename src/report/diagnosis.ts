/** The terminal rendering of a diagnosis: the verdict first, then the figures behind it. */
import type { Diagnosis } from '../analyze/diagnosis.js';
import { formatBytes, formatInteger, formatRate, formatShare } from '../util/units.js';
import { renderTable } from './table.js';
import { sparkline } from './sparkline.js';

const bold = (s: string, color: boolean): string => (color ? `\x1b[1m${s}\x1b[0m` : s);

export function renderDiagnosisText(d: Diagnosis, opts: { color: boolean; width?: number }): string {
  const out: string[] = [];
  const v = d.verdict;
  out.push(bold(`Verdict: ${v.cause}`, opts.color) + `  (confidence: ${v.confidence})`);
  out.push(v.summary);
  out.push('');
  out.push('Evidence:');
  for (const line of v.evidence) out.push(`  - ${line}`);
  if (v.other_causes.length) {
    out.push('Also found:');
    for (const o of v.other_causes) out.push(`  - ${o.cause}: ${o.summary}`);
  }
  out.push('');
  const rssValues = d.rss.samples.map((s) => s[1]);
  out.push(`RSS ${formatBytes(d.rss.start)} -> ${formatBytes(d.rss.end)} over ${d.window.duration_s.toFixed(0)} s, ${formatRate(d.rss.slope)}  ${sparkline(rssValues, 40)}`);
  out.push(
    `threads ${d.threads.start} -> ${d.threads.end}` +
      (d.heap
        ? `; heap ${formatInteger(d.heap.start.count)} -> ${formatInteger(d.heap.end.count)} objects, ${formatBytes(d.heap.start.bytes)} -> ${formatBytes(d.heap.end.bytes)} (census pause ${d.heap.pause_ms.toFixed(0)} ms)`
        : ''),
  );
  if (d.suspects.length) {
    out.push('');
    out.push('Growing types:');
    out.push(
      renderTable(
        [{ header: 'type' }, { header: 'Δ count' }, { header: 'Δ bytes' }, { header: 'rate' }, { header: 'allocated at' }],
        d.suspects.slice(0, 8).map((s) => [s.type, `+${formatInteger(s.count_delta)}`, `+${formatBytes(s.bytes_delta)}`, formatRate(s.bytes_per_s), s.site ?? '']),
        { width: opts.width },
      ),
    );
    const withPath = d.suspects.find((s) => s.path);
    if (withPath?.path) out.push(`held by: ${withPath.path.join(' -> ')}`);
    const holder = withPath?.holder;
    if (holder) out.push(`${holder.label} retains ${formatBytes(holder.bytes)} in ${formatInteger(holder.objects)} objects, ${formatShare(holder.share)} of the heap dump`);
  }
  if (d.allocation_sites?.length) {
    out.push('');
    out.push('Allocation sites (live memory allocated in the window, tracemalloc):');
    out.push(
      renderTable(
        [{ header: 'site' }, { header: 'bytes' }, { header: 'blocks' }],
        d.allocation_sites.slice(0, 5).map((s) => [s.site, formatBytes(s.size), formatInteger(s.count)]),
        { width: opts.width },
      ),
    );
  }
  if (d.breakdown.length) {
    out.push('');
    out.push('Memory breakdown:');
    out.push(
      renderTable(
        [{ header: 'memory' }, { header: 'bytes' }, { header: 'measured by' }],
        d.breakdown.map((b) => ['  '.repeat(b.depth) + b.label, b.bytes === null ? 'n/a' : formatBytes(b.bytes), b.source]),
        { width: opts.width },
      ),
    );
  }
  if (d.trim) out.push(`trim: RSS ${formatBytes(d.trim.rss_before)} -> ${formatBytes(d.trim.rss_after)}, ${formatBytes(d.trim.released)} returned to the OS`);
  out.push('');
  out.push(bold('What to do:', opts.color));
  for (const r of d.recommendations) out.push(`  - ${r}`);
  if (d.notes.length) {
    out.push('');
    out.push('Notes:');
    for (const n of d.notes) out.push(`  - ${n}`);
  }
  return out.join('\n') + '\n';
}
