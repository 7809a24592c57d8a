/**
 * The RSS record `memwhy run --record FILE` writes: CSV rows as the samples
 * come (into a temp file beside FILE, renamed to FILE when the program exits,
 * so a crash of memwhy still leaves the rows so far), or one JSON document at
 * exit. The CSV header and the JSON "format" field are how memwhy knows its
 * own record before replacing it (util/outputFile.ts).
 */
import type { ChildSample } from '../collect/supervise.js';

export const RECORD_FORMAT = 'memwhy-rss-record/1';

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
    format: RECORD_FORMAT,
    ...meta,
    columns: RECORD_COLUMNS,
    samples: samples.map((s) => [Number(s.t.toFixed(3)), s.rss, s.rssAnon]),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
