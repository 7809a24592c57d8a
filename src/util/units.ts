/** Human units for bytes, rates and durations: every number memwhy prints carries one. */

/** The binary units memwhy prints sizes in, by power of 1024. */
export const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** |n| in its largest unit of at most 1024 (below 1 KiB, bytes): the value and the unit's power. */
function scaleBytes(n: number): { v: number; power: number } {
  let v = Math.abs(n);
  let power = 0;
  while (v >= 1024 && power < BYTE_UNITS.length - 1) {
    v /= 1024;
    power++;
  }
  return { v, power };
}

/** 512 B, 1.4 MiB, 2.3 GiB: one decimal from KiB up. */
export function formatBytes(n: number): string {
  const { v, power } = scaleBytes(n);
  return `${n < 0 ? '-' : ''}${power === 0 ? v.toFixed(0) : v.toFixed(1)} ${BYTE_UNITS[power]}`;
}

/**
 * As formatBytes, with one more digit from 1 GiB to 10 GiB: in the HTML
 * report of a 1.4 GiB process, "1.43 GiB → 1.68 GiB" shows the growth.
 */
export function formatBytesFine(n: number): string {
  const { v, power } = scaleBytes(n);
  const digits = power === 0 ? 0 : power >= 3 && v < 10 ? 2 : 1;
  return `${n < 0 ? '-' : ''}${v.toFixed(digits)} ${BYTE_UNITS[power]}`;
}

/** A change in size: +1.2 MiB, -512 B, 0 B (no sign on zero). */
export function formatBytesDelta(n: number): string {
  return `${n > 0 ? '+' : ''}${formatBytes(n)}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A rate of growth: +1.2 MiB/s, -3.0 KiB/s, 0 B/s (no sign on zero). */
export function formatRateDelta(bytesPerSecond: number): string {
  return `${bytesPerSecond > 0 ? '+' : ''}${formatRate(bytesPerSecond)}`;
}

/** A fraction as a percentage for prose: "41 %", "3.5 %", "0.2 %". */
export function formatShare(fraction: number): string {
  const p = fraction * 100;
  return `${p >= 10 ? p.toFixed(0) : p.toFixed(1)} %`;
}

/** A whole count with thousands separators: 1,234,567. */
export function formatInteger(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A duration in ms (pauses, census and collection times): 0.42 ms, 87 ms, then seconds from 1 s (1.23 s). */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/**
 * As formatMs, but in ms up to 10 s (0.42 ms, 87 ms, 4210 ms), then
 * seconds to one decimal (12.3 s): `memwhy stacks`'s pauses and sample spans.
 */
export function formatMsUpTo10s(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 10_000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A duration in whole ms below 1 s (870 ms), then seconds to one decimal (2.5 s): the span of stack samples. */
export function formatMsWhole(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A duration always in ms, one decimal below 10 ms (0.4 ms, 87 ms, 2300 ms): a thread's time on the CPU. */
export function formatMsOnly(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
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

/** Three decimals, as the saved evidence records durations: ms to the µs, s to the ms. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
