/**
 * `memwhy compare` for people: the verdict line, a table of the allocators
 * in the order they ran, and a static HTML page with the RSS curves.
 */
import type { AllocatorSummary, RunRecord } from '../analyze/compare.js';
import { formatBytes, formatSeconds } from '../util/units.js';
import { quoteCommand } from './allocators.js';
import { escapeXml, lineChart } from './svgChart.js';
import { renderTable } from './table.js';

const MIB = 1024 * 1024;

export function verdictLine(summary: readonly AllocatorSummary[]): string {
  const best = summary.find((s) => s.lowest_mean);
  const first = summary[0];
  if (!best || !first) return 'no allocator ran the workload to a clean exit: no comparison';
  if (best === first) return `lowest mean RSS: ${best.allocator}, ${formatBytes(best.mean_rss)}`;
  return `lowest mean RSS: ${best.allocator}, ${formatBytes(best.mean_rss)} (${percent(best.mean_vs_first)} vs ${first.allocator})`;
}

function percent(fraction: number | null): string {
  if (fraction === null) return '';
  const p = Math.round(fraction * 100);
  return `${p > 0 ? '+' : ''}${p} %`;
}

function exitText(codes: readonly number[]): string {
  const distinct = [...new Set(codes)];
  return distinct.join(',');
}

function tableRows(summary: readonly AllocatorSummary[]): { columns: { header: string; align?: 'left' | 'right' }[]; rows: string[][] } {
  const first = summary[0]?.allocator ?? '';
  return {
    columns: [
      { header: 'ALLOCATOR' },
      { header: 'MEAN RSS', align: 'right' },
      { header: `VS ${first.toUpperCase()}`, align: 'right' },
      { header: 'PEAK RSS', align: 'right' },
      { header: 'FINAL RSS', align: 'right' },
      { header: 'WALL', align: 'right' },
      { header: 'EXIT', align: 'right' },
    ],
    rows: summary.map((s) => [
      s.lowest_mean ? `${s.allocator} *` : s.allocator,
      formatBytes(s.mean_rss),
      s === summary[0] ? '' : percent(s.mean_vs_first),
      formatBytes(s.peak_rss),
      formatBytes(s.final_rss),
      formatSeconds(s.wall_s),
      exitText(s.exit_codes),
    ]),
  };
}

export function renderCompareText(summary: readonly AllocatorSummary[], repeat: number): string {
  const { columns, rows } = tableRows(summary);
  const notes = ['* lowest mean RSS (time-weighted); FINAL is the last sample before exit'];
  if (repeat > 1) notes.push(`medians of ${repeat} runs per allocator`);
  return `${verdictLine(summary)}\n\n${renderTable(columns, rows)}\n${notes.join('\n')}\n`;
}

export interface CompareReport {
  command: readonly string[];
  runs: readonly RunRecord[];
  summary: readonly AllocatorSummary[];
}

/** The run to draw for each allocator: the one whose mean RSS is nearest the median. */
function representativeRuns(report: CompareReport): RunRecord[] {
  return report.summary.flatMap((s) => {
    const mine = report.runs.filter((r) => r.allocator === s.allocator);
    const best = mine.reduce<RunRecord | undefined>((b, r) => (!b || Math.abs(r.mean_rss - s.mean_rss) < Math.abs(b.mean_rss - s.mean_rss) ? r : b), undefined);
    return best ? [best] : [];
  });
}

/** One static page: no network, no script beyond the data block, which tools can read back. */
export function renderCompareHtml(report: CompareReport, memwhyVersion: string): string {
  const { columns, rows } = tableRows(report.summary);
  const chart = lineChart({
    title: 'RSS over time',
    xLabel: 'time (s)',
    yLabel: 'RSS (MiB)',
    series: representativeRuns(report).map((r) => ({
      label: r.allocator,
      points: r.samples.map(([t, rss]) => [t, rss / MIB] as const),
    })),
  });
  const head = columns.map((c) => `<th class="${c.align ?? 'left'}">${escapeXml(c.header)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell, i) => `<td class="${columns[i]?.align ?? 'left'}">${escapeXml(cell)}</td>`).join('')}</tr>`).join('\n');
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  const repeat = report.summary[0]?.runs ?? 1;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="memwhy ${escapeXml(memwhyVersion)}">
<title>memwhy compare: ${escapeXml(quoteCommand(report.command))}</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 760px; color: #222; }
h1 { font-size: 1.3em; }
.verdict { font-size: 1.1em; font-weight: bold; }
code { background: #f4f4f4; padding: 0.1em 0.3em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; }
.right { text-align: right; } .left { text-align: left; }
.note { color: #666; font-size: 0.9em; }
</style>
</head>
<body>
<h1>memwhy compare</h1>
<p class="verdict">${escapeXml(verdictLine(report.summary))}</p>
<p>Workload: <code>${escapeXml(quoteCommand(report.command))}</code></p>
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<p class="note">* lowest mean RSS (time-weighted). FINAL is the last sample before exit.${repeat > 1 ? ` Medians of ${repeat} runs per allocator; the chart shows the run nearest each median.` : ''}</p>
${chart}
<script type="application/json" id="memwhy-data">${data}</script>
</body>
</html>
`;
}
