/**
 * Reading the few object types a stack needs: str (PEP 393), bytes, and
 * 2.7's PyStringObject. Each read is bounded, so a torn or garbage pointer
 * (a target read without stopping it) costs an error, not a huge allocation.
 */
import type { MemorySource } from '../memory/source.js';
import type { Layout } from './layouts.js';

/** Longest str or bytes memwhy reads for a name, a file name or a line table. */
export const MAX_OBJECT_BYTES = 1 << 20;

/** Memory that does not hold the object a pointer promised: garbage, a freed object, a torn read. */
export class NotAnObjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotAnObjectError';
  }
}

/** PyASCIIObject.state bits (Include/cpython/unicodeobject.h, 3.3-3.13). */
const KIND_SHIFT = 2;
const KIND_MASK = 7;
const COMPACT_BIT = 1 << 5;
const ASCII_BIT = 1 << 6;

/**
 * Text of a str object (or a bytes object on 2.7, where names are bytes).
 * With `maxChars`, only that many characters are read and any length is
 * accepted; without, an implausibly long one is taken for garbage.
 */
export function readText(memory: MemorySource, layout: Layout, address: bigint, maxChars?: number): string {
  if (!layout.str) return readBytes(memory, layout, address, maxChars).toString('utf8');
  const s = layout.str;
  const length = Number(memory.readI64(address + BigInt(s.length)));
  const state = memory.readU32(address + BigInt(s.state));
  const kind = (state >> KIND_SHIFT) & KIND_MASK;
  if (length < 0 || kind === 0 || kind === 3 || kind > 4 || (maxChars === undefined && length * kind > MAX_OBJECT_BYTES)) {
    throw new NotAnObjectError(`not a str at 0x${address.toString(16)} (length ${length}, state 0x${state.toString(16)})`);
  }
  let data: bigint;
  if (state & COMPACT_BIT) {
    data = address + BigInt(state & ASCII_BIT ? s.asciiData : s.compactData);
  } else {
    // A legacy (non-compact) str: PyUnicodeObject's data.any follows the compact header.
    data = memory.readPtr(address + BigInt(s.compactData));
  }
  const count = Math.min(length, maxChars ?? length);
  const raw = memory.read(data, count * kind);
  switch (kind) {
    case 1:
      return raw.toString('latin1');
    case 2:
      return raw.toString('utf16le');
    default: {
      let out = '';
      for (let i = 0; i < count; i++) out += String.fromCodePoint(Math.min(raw.readUInt32LE(i * 4), 0x10ffff));
      return out;
    }
  }
}

/** The contents of a bytes object (PyStringObject on 2.7); with `maxBytes`, only its start, as readText. */
export function readBytes(memory: MemorySource, layout: Layout, address: bigint, maxBytes?: number): Buffer {
  const size = Number(memory.readI64(address + BigInt(layout.bytes.size)));
  if (size < 0 || (maxBytes === undefined && size > MAX_OBJECT_BYTES)) {
    throw new NotAnObjectError(`not a bytes object at 0x${address.toString(16)} (size ${size})`);
  }
  return memory.read(address + BigInt(layout.bytes.data), Math.min(size, maxBytes ?? size));
}

/** The length of a str (characters) or bytes object (bytes), without reading its data. */
export function objectLength(memory: MemorySource, layout: Layout, address: bigint, kind: 'str' | 'bytes'): number {
  const offset = kind === 'str' && layout.str ? layout.str.length : layout.bytes.size;
  return Number(memory.readI64(address + BigInt(offset)));
}
