/** Human units for bytes, rates and durations: every number memwhy prints carries one. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${sign}${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${BYTE_UNITS[i]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatSeconds(s: number): string {
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** Parses "250ms", "1s", "1.5m", "2h" or a bare number of seconds into seconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text);
  if (!m) throw new Error(`not a duration: "${text}" (try 500ms, 5s, 2m)`);
  const v = Number(m[1]);
  switch (m[2]) {
    case 'ms':
      return v / 1000;
    case 'm':
    case 'min':
      return v * 60;
    case 'h':
      return v * 3600;
    default:
      return v;
  }
}

/** Parses "64M", "1.5GiB", "4096" (bytes) into a byte count. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!m) throw new Error(`not a size: "${text}" (try 4096, 64M, 1G)`);
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** A duration in ms kept to the microsecond, as the saved evidence records it. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
