/**
 * The workers pre-window of `memwhy diagnose MASTER`: a table (one line per
 * process) and one line saying which worker is diagnosed and why, for
 * stderr; and the `workers` member the command adds to the diagnosis JSON.
 */
import type { WorkerChoice, WorkerTrend } from '../analyze/workers.js';
import { formatBytes, formatRate, formatSeconds } from '../util/units.js';
import { renderTable } from './table.js';

/** The `workers` member of `diagnose --json` when a master's worker was diagnosed in its place. */
export interface WorkersReport {
  /** The pid asked about: never attached. */
  master: number;
  /** The worker diagnosed: the rest of the document is about it. */
  chosen: number;
  reason: WorkerChoice['reason'];
  /** The line printed on stderr. */
  summary: string;
  window_s: number;
  /** The master first, then the chosen worker, then the others by slope. */
  processes: (WorkerTrend & { chosen: boolean })[];
}

export function workersReport(choice: WorkerChoice, windowS: number): WorkersReport {
  return {
    master: choice.master.pid,
    chosen: choice.pid,
    reason: choice.reason,
    summary: choiceLine(choice),
    window_s: windowS,
    processes: [choice.master, ...choice.workers].map((t) => ({ ...t, chosen: t.pid === choice.pid })),
  };
}

/** The diagnosis document with the `workers` member, added at the command level only (the Diagnosis type is not changed). */
export function withWorkers<D extends object>(d: D, choice: WorkerChoice, windowS: number): D & { workers: WorkersReport } {
  return { ...d, workers: workersReport(choice, windowS) };
}

/** Progress line before the pre-window. */
export function watchingLine(pid: number, workers: number, windowS: number): string {
  return `memwhy: ${pid} has ${workers} Python worker${workers === 1 ? '' : 's'}: watching their RSS for ${formatSeconds(windowS)} (nothing attached)...\n`;
}

/** The table, then the line saying which worker is diagnosed and why: for stderr. */
export function renderWorkersChoice(choice: WorkerChoice, width?: number): string {
  return `${renderWorkersTable(choice, width)}memwhy: ${choiceLine(choice)}\n`;
}

function kibPerS(t: WorkerTrend): string {
  if (t.slope_bytes_per_s === null) return '';
  const v = t.slope_bytes_per_s / 1024;
  return `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
}

/** The table for stderr, each line prefixed so it reads as memwhy's. */
export function renderWorkersTable(choice: WorkerChoice, width?: number): string {
  const rows = [choice.master, ...choice.workers].map((t) => [
    String(t.pid),
    t.role === 'master' && t.pid === choice.master.pid ? 'master (not attached)' : (t.role ?? 'worker'),
    formatBytes(t.rss_end),
    kibPerS(t),
    t.r2 === null ? '' : t.r2.toFixed(2),
    [t.pid === choice.pid ? 'diagnosed' : '', t.growing ? 'grows' : '', t.exited ? 'exited' : ''].filter(Boolean).join(', '),
  ]);
  const table = renderTable(
    [{ header: 'PID', align: 'right' }, { header: 'ROLE' }, { header: 'RSS' }, { header: 'SLOPE KiB/s', align: 'right' }, { header: 'R²', align: 'right' }, { header: '' }],
    rows,
    { width: width === undefined ? undefined : width - 2 },
  );
  return table
    .split('\n')
    .filter(Boolean)
    .map((l) => `  ${l}\n`)
    .join('');
}

/** One line: which worker is diagnosed, and the numbers that chose it. */
export function choiceLine(c: WorkerChoice): string {
  const chosen = c.workers[0]!;
  const next = c.workers.find((t) => t.pid === c.next);
  const over = formatSeconds(chosen.elapsed_s);
  let line: string;
  if (c.reason === 'fastest-growth') {
    line = `diagnosing worker ${c.pid}: it grows fastest, ${signedRate(chosen)} over ${over} (r² ${chosen.r2?.toFixed(2) ?? '?'})`;
    if (next) line += `; next ${next.pid} at ${signedRate(next)}`;
  } else {
    line = `diagnosing worker ${c.pid}, the biggest (${formatBytes(chosen.rss_end)}): no worker grew over ${over}`;
    if (next) line += `; next ${next.pid} at ${formatBytes(next.rss_end)}`;
  }
  line += `; the master ${c.master.pid} is not attached`;
  if (c.master_grows_faster) line += `, though it grows faster (${signedRate(c.master)})`;
  return line;
}

function signedRate(t: WorkerTrend): string {
  const s = t.slope_bytes_per_s ?? 0;
  return `${s >= 0 ? '+' : '-'}${formatRate(Math.abs(s))}`;
}
