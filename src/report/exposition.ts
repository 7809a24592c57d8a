/**
 * The Prometheus text exposition format (version 0.0.4), as Prometheus's
 * "Exposition formats" page defines it: for each metric family a `# HELP`
 * and a `# TYPE` line, then one line per sample, `name{label="value"} value`.
 * Pure: families in, text out.
 */

export type MetricType = 'gauge' | 'counter' | 'info';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  /** Base units in the name (bytes, seconds), `_total` on counters, `_info` on info metrics. */
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The text for `families`, in the order given. A family with no samples is
 * left out (HELP and TYPE for a metric with nothing to say only add noise).
 * Names are checked, since a bad one makes Prometheus reject the whole scrape.
 */
export function formatExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid metric name ${JSON.stringify(f.name)}`);
    if (seen.has(f.name)) throw new Error(`metric family ${f.name} given twice`);
    seen.add(f.name);
    if (f.type === 'counter' && !f.name.endsWith('_total')) throw new Error(`counter ${f.name} must end in _total`);
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    // The 0.0.4 text format has no "info" type: info metrics are gauges of value 1 (OpenMetrics' info in the text format).
    lines.push(`# TYPE ${f.name} ${f.type === 'info' ? 'gauge' : f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries
    .map(([k, v]) => {
      if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(k)}`);
      return `${k}="${escapeLabelValue(v)}"`;
    })
    .join(',')}}`;
}

/** HELP text escapes backslash and newline only. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values escape backslash, double quote and newline. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Go's ParseFloat spellings for the special values; integers without an exponent up to 2^53. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isInteger(v) && Math.abs(v) < 2 ** 53) return v.toFixed(0);
  return String(v);
}
