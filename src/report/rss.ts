/** Renders `memwhy rss`: the human summary, CSV rows and the live progress line. */
import type { MemorySample } from '../collect/rss.js';
import type { RssSummary } from '../analyze/rss.js';
import { formatBytes, formatRateDelta, formatSeconds } from '../util/units.js';
import { sparkline } from './sparkline.js';
import { renderTable } from './table.js';

/** One table drives the CSV header, CSV rows and the human "latest sample" block. */
const FIELDS: { key: keyof MemorySample; kind: 'bytes' | 'count' | 'time'; meaning: string }[] = [
  { key: 't', kind: 'time', meaning: '' },
  { key: 'rss', kind: 'bytes', meaning: 'resident: pages in RAM' },
  { key: 'pss', kind: 'bytes', meaning: 'proportional: shared pages split among their users' },
  { key: 'uss', kind: 'bytes', meaning: 'unique: freed if the process exited' },
  { key: 'anon', kind: 'bytes', meaning: 'anonymous resident (heaps, stacks, arenas)' },
  { key: 'file', kind: 'bytes', meaning: 'file-backed resident (code, libraries, mapped files)' },
  { key: 'shmem', kind: 'bytes', meaning: 'shared memory resident' },
  { key: 'swap', kind: 'bytes', meaning: 'swapped out' },
  { key: 'swap_pss', kind: 'bytes', meaning: 'swapped out, shared pages split' },
  { key: 'threads', kind: 'count', meaning: '' },
  { key: 'fds', kind: 'count', meaning: 'open file descriptors' },
];

/** The sparkline's width: enough to see a shape, short enough for an 80-column terminal. */
const SPARK_WIDTH = 60;

export function csvHeader(): string {
  return FIELDS.map((f) => f.key).join(',');
}

/** Raw numbers (bytes, ms since the epoch); an empty cell where the kernel denied the file. */
export function csvRow(sample: MemorySample): string {
  return FIELDS.map((f) => (sample[f.key] === null ? '' : String(sample[f.key]))).join(',');
}

export function progressLine(pid: number, elapsedS: number, totalS: number, sample: MemorySample): string {
  return `sampling pid ${pid}: ${formatSeconds(elapsedS)} / ${formatSeconds(totalS)}, RSS ${formatBytes(sample.rss)}`;
}

export type WatchEnd = 'complete' | 'exited' | 'interrupted';

export interface RssReport {
  pid: number;
  name: string;
  interval_s: number;
  ended: WatchEnd;
  samples: readonly MemorySample[];
  summary: RssSummary;
}

function headline(r: RssReport): string {
  const s = r.summary;
  const who = `pid ${r.pid}${r.name ? ` (${r.name})` : ''}`;
  if (r.samples.length === 1) return `${who}: RSS ${formatBytes(s.rss_end)}`;
  const change = s.rss_end - s.rss_start;
  const verb = change > 0 ? `rose ${formatBytes(change)}` : change < 0 ? `fell ${formatBytes(-change)}` : 'did not change';
  const over = formatSeconds(s.elapsed_s);
  return `${who}: RSS ${verb} in ${over}, ${formatBytes(s.rss_start)} → ${formatBytes(s.rss_end)}`;
}

function growthLine(r: RssReport, durationFlag: string | undefined): string {
  const s = r.summary;
  const samples = `${r.samples.length} samples every ${formatSeconds(r.interval_s)}`;
  if (s.slope_bytes_per_s === null || s.r2 === null) return `growth    needs two or more samples${durationFlag ? ` (use ${durationFlag})` : ''}`;
  return `growth    ${formatRateDelta(s.slope_bytes_per_s)}, r² ${s.r2.toFixed(2)} (least-squares line through ${samples})`;
}

function valueText(sample: MemorySample, key: keyof MemorySample, kind: 'bytes' | 'count' | 'time'): string {
  const v = sample[key];
  if (v === null) return 'n/a';
  return kind === 'bytes' ? formatBytes(v) : String(v);
}

/** The human summary: the verdict line first, then the trend, then the latest values. */
/** `durationFlag`: the command's option for a longer watch, as it names it ("--duration"), for the hint. */
export function renderRssReport(r: RssReport, durationFlag?: string): string {
  const latest = r.samples[r.samples.length - 1]!;
  const s = r.summary;
  const lines = [headline(r), growthLine(r, durationFlag)];
  if (r.samples.length > 1) {
    const spark = sparkline(
      r.samples.map((x) => x.rss),
      SPARK_WIDTH,
    );
    lines.push(`RSS       ${spark}  min ${formatBytes(s.rss_min)}, max ${formatBytes(s.rss_max)}`);
  }
  const shown = FIELDS.filter((f) => f.kind !== 'time');
  const table = renderTable(
    [{ header: 'latest' }, { header: 'value', align: 'right' }, { header: '' }],
    shown.map((f) => [f.key, valueText(latest, f.key, f.kind), f.meaning]),
  );
  lines.push('', table.trimEnd());
  const denied = [latest.pss === null ? 'smaps_rollup' : '', latest.fds === null ? 'fd' : ''].filter(Boolean);
  if (denied.length > 0) {
    const files = denied.map((f) => `/proc/${r.pid}/${f}`).join(' and ');
    lines.push('', `n/a: the kernel denied ${files} (a ptrace access check): run memwhy as the target's user or as root`);
  }
  return lines.join('\n') + '\n';
}
