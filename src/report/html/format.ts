/** The viewer's numbers with their units: sizes, counts, rates, durations and the window. */
import type { Diagnosis } from '../../analyze/diagnosis.js';
import { formatBytesFine, formatSeconds } from '../../util/units.js';

export const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const DEC1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** Sizes in the report: formatBytesFine, one more digit than the terminal's between 1 and 10 GiB. */
export const formatBytes = formatBytesFine;

export const plus = (n: number): string => (n > 0 ? '+' : '');
export const count = (n: number, unit = 'obj'): string => `${INT.format(n)} ${unit}`;
export const countDelta = (n: number, unit = 'obj'): string => `${plus(n)}${count(n, unit)}`;
export const bytesDelta = (n: number): string => `${plus(n)}${formatBytes(n)}`;
export const countRate = (n: number, unit = 'obj'): string => `${plus(n)}${Math.abs(n) >= 1000 ? INT.format(n) : DEC1.format(n)} ${unit}/s`;
export const bytesRate = (n: number): string => `${plus(n)}${formatBytes(n)}/s`;
export const ms = (n: number): string => `${Math.abs(n) >= 100 ? INT.format(n) : DEC1.format(n)} ms`;
export const percent = (f: number): string => `${Math.round(f * 100)}%`;

/**
 * A finding's raw numbers carry no units, so read them off the key's name,
 * the convention the analysers follow (`rss_growth_bytes`, `pause_ms`).
 */
export function numberByKey(key: string, v: number | null): string {
  if (v === null) return 'not measured';
  const k = key.toLowerCase();
  if (/bytes_per_s$|bytes_s$/.test(k)) return bytesRate(v);
  if (/per_min$/.test(k)) return `${DEC1.format(v)}/min`;
  if (/per_s$/.test(k)) return `${DEC1.format(v)}/s`;
  if (/bytes$|_size$|^size$|^rss(_start|_end)?$/.test(k)) return formatBytes(v);
  if (/_ms$/.test(k)) return ms(v);
  if (/_s$|seconds$|duration$/.test(k)) return formatSeconds(v);
  if (k === 'r2') return `r² ${v.toFixed(2)}`;
  if (/ratio$|share$|fraction$|score$/.test(k)) return percent(v);
  if (/threads$|^threads_(start|end)$/.test(k)) return `${INT.format(v)} threads`;
  if (/count$|objects$|instances$|uncollectable$|garbage$/.test(k)) return count(v);
  return Number.isInteger(v) ? INT.format(v) : v.toPrecision(3);
}

export function windowText(w: Diagnosis['window']): string {
  const at = (iso: string): string => {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? iso : new Date(t).toISOString().replace('T', ' ').slice(0, 19);
  };
  return `${at(w.start)} → ${at(w.end).slice(11)} UTC (${formatSeconds(w.duration_s)})`;
}
