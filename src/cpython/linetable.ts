/**
 * Instruction offset -> source line, for each of CPython's line table
 * formats. Pure functions over the table's bytes, so each is unit-tested
 * against the interpreter's own co_lines() / dis.findlinestarts().
 */
import type { LineTableFormat } from './layouts.js';

/**
 * The line of the instruction at `byteOffset` (bytes from the start of the
 * code), as PyCode_Addr2Line computes it; null where the table says the
 * instruction has no line (artificial instructions, 3.10+).
 */
export function lineForOffset(format: LineTableFormat, table: Buffer, firstLine: number, byteOffset: number): number | null {
  // PyCode_Addr2Line: a frame that has not started yet reports its first line.
  if (byteOffset < 0) return firstLine;
  switch (format) {
    case 'lnotab-unsigned':
      return lnotabLine(table, firstLine, byteOffset, false);
    case 'lnotab':
      return lnotabLine(table, firstLine, byteOffset, true);
    case 'linetable-3.10':
      return linetable310Line(table, firstLine, byteOffset);
    case 'locations':
      return locationsLine(table, firstLine, byteOffset);
  }
}

/**
 * co_lnotab (Objects/lnotab_notes.txt, 2.7-3.9): (address increment, line
 * increment) byte pairs; the line increment is signed from 3.6 on.
 */
function lnotabLine(table: Buffer, firstLine: number, target: number, signed: boolean): number {
  let line = firstLine;
  let addr = 0;
  for (let p = 0; p + 1 < table.length; p += 2) {
    addr += table[p]!;
    if (addr > target) break;
    line += signed ? table.readInt8(p + 1) : table[p + 1]!;
  }
  return line;
}

/**
 * co_linetable in 3.10 (Objects/lnotab_notes.txt of that release, and
 * advance() in its Objects/codeobject.c): (byte delta, signed line delta)
 * pairs, each closing the range [start, start + delta); a line delta of -128
 * marks a range with no line.
 */
function linetable310Line(table: Buffer, firstLine: number, target: number): number | null {
  let line = firstLine;
  let start = 0;
  for (let p = 0; p + 1 < table.length; p += 2) {
    const end = start + table[p]!;
    const delta = table.readInt8(p + 1);
    if (delta !== -128) line += delta;
    if (target >= start && target < end) return delta === -128 ? null : line;
    start = end;
  }
  return null;
}

/** _PyCodeLocationInfoKind (Include/cpython/code.h, 3.11+). */
const NO_COLUMNS = 13;
const LONG = 14;
const NONE = 15;
const ONE_LINE_0 = 10;
const ONE_LINE_2 = 12;

/**
 * The locations table (Objects/locations.md, 3.11+): entries of a first byte
 * 1CCCCLLL (code, length - 1 in code units) and code-dependent extra bytes.
 * Only the start line matters here.
 */
function locationsLine(table: Buffer, firstLine: number, target: number): number | null {
  let line = firstLine;
  let start = 0;
  let p = 0;
  while (p < table.length) {
    const first = table[p]!;
    const code = (first >> 3) & 15;
    const end = start + ((first & 7) + 1) * 2; // code units of 2 bytes
    p++;
    let delta = 0;
    if (code === NO_COLUMNS || code === LONG) {
      const [value, next] = readSignedVarint(table, p);
      delta = value;
      p = next;
    } else if (code >= ONE_LINE_0 && code <= ONE_LINE_2) {
      delta = code - ONE_LINE_0;
    }
    line += delta;
    if (target >= start && target < end) return code === NONE ? null : line;
    // Skip this entry's remaining bytes: they lack the top bit.
    while (p < table.length && (table[p]! & 0x80) === 0) p++;
    start = end;
  }
  return null;
}

/**
 * varint: 6-bit chunks, least significant first, bit 6 set on all but the
 * last. Kept to 32 bits as CPython's read_varint (an unsigned int) keeps it:
 * a garbage table with a long run of continuation bytes made 2 ** shift
 * reach Infinity, and lines came out as 2e21 or NaN.
 */
function readVarint(table: Buffer, p: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = table[p++] ?? 0;
    if (shift < 32) value = (value + (b & 63) * 2 ** shift) % 2 ** 32;
    shift += 6;
    if ((b & 64) === 0 || p >= table.length) return [value, p];
  }
}

/** svarint: zigzag over varint, the low bit is the sign. */
function readSignedVarint(table: Buffer, p: number): [number, number] {
  const [u, next] = readVarint(table, p);
  return [u & 1 ? -Math.floor(u / 2) : Math.floor(u / 2), next];
}
