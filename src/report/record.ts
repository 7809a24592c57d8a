/**
 * The RSS record `memwhy run --record FILE` writes: CSV rows as the samples
 * come (a crash still leaves the rows so far), or one JSON document at exit.
 */
import type { ChildSample } from '../collect/supervise.js';

export const RECORD_COLUMNS = ['t_s', 'rss', 'rss_anon'] as const;

export function recordCsvHeader(): string {
  return RECORD_COLUMNS.join(',') + '\n';
}

export function recordCsvRow(s: ChildSample): string {
  return `${s.t.toFixed(3)},${s.rss},${s.rssAnon}\n`;
}

export interface RecordMeta {
  command: readonly string[];
  allocator: string;
  env: Readonly<Record<string, string>>;
  interval_s: number;
  exit_code: number;
  wall_s: number;
}

export function recordJson(meta: RecordMeta, samples: readonly ChildSample[]): string {
  const doc = {
    ...meta,
    columns: RECORD_COLUMNS,
    samples: samples.map((s) => [Number(s.t.toFixed(3)), s.rss, s.rssAnon]),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
