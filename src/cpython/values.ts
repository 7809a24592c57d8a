/**
 * Short, Python-like renderings of the values --locals shows: None, bools,
 * ints, floats, str and bytes in full (up to a limit), containers by type
 * and length, anything else as "<type object at 0x...>". Reads are bounded
 * like every other read of a target's objects.
 */
import type { MemorySource } from '../memory/source.js';
import { OB_TYPE, type Layout } from './layouts.js';
import type { InterpreterSymbols } from './locate.js';
import { objectLength, readBytes, readText } from './objects.js';

export interface ValueSummary {
  /** tp_name: "int", "str", "collections.OrderedDict". */
  type: string;
  /** repr() for scalars (cut at MAX_REPR characters), "<list len=3>" for containers. */
  value: string;
}

/** Longest rendering of one value, in characters. */
export const MAX_REPR = 200;
/** Ints with more digits than this are shown by size only (a 30-bit digit holds about 9 decimal digits). */
const MAX_INT_DIGITS = 40;

export class ValueReader {
  private readonly typeNames = new Map<bigint, string>();

  constructor(
    private readonly memory: MemorySource,
    private readonly layout: Layout,
    private readonly symbols: InterpreterSymbols,
  ) {}

  /**
   * The summary of the object at `address`, following a cell (a local's
   * cell) to its contents; undefined for NULL (unbound). Only one cell is
   * followed: a cell holding a cell shows as a cell, and a cell that holds
   * itself (possible in Python, and in garbage) cannot recurse until the stack overflows.
   */
  describe(address: bigint, followCell = true): ValueSummary | undefined {
    if (address === 0n) return undefined;
    if (address === this.symbols.none) return { type: 'NoneType', value: 'None' };
    if (address === this.symbols.true) return { type: 'bool', value: 'True' };
    if (address === this.symbols.false) return { type: 'bool', value: 'False' };
    const typeAddress = this.memory.readPtr(address + BigInt(OB_TYPE));
    if (followCell && typeAddress === this.symbols.cellType && this.symbols.cellType !== undefined) {
      return this.describe(this.memory.readPtr(address + BigInt(this.layout.objects.cellRef)), false);
    }
    const type = this.typeName(typeAddress);
    return { type, value: this.render(address, type) };
  }

  private render(address: bigint, type: string): string {
    const o = this.layout.objects;
    const py2 = this.layout.major === 2;
    switch (type) {
      case 'int':
        return py2 ? String(this.memory.readI64(address + BigInt(o.intValue!))) : this.long(address);
      case 'long':
        return py2 ? `${this.long(address)}L` : this.opaque(address, type);
      case 'float':
        return floatRepr(this.memory.read(address + BigInt(o.floatValue), 8).readDoubleLE(0));
      case 'str':
        if (py2) return this.bytes(address, '');
        return strRepr(readText(this.memory, this.layout, address, MAX_REPR), objectLength(this.memory, this.layout, address, 'str') > MAX_REPR);
      case 'bytes':
        return this.bytes(address, 'b');
      case 'list':
      case 'tuple':
        return `<${type} len=${this.memory.readI64(address + BigInt(o.varSize))}>`;
      case 'dict':
        return `<${type} len=${this.memory.readI64(address + BigInt(o.dictUsed))}>`;
      case 'set':
      case 'frozenset':
        return `<${type} len=${this.memory.readI64(address + BigInt(o.setUsed))}>`;
      default:
        return this.opaque(address, type);
    }
  }

  private bytes(address: bigint, prefix: string): string {
    const data = readBytes(this.memory, this.layout, address, MAX_REPR);
    return bytesRepr(data, prefix, objectLength(this.memory, this.layout, address, 'bytes') > MAX_REPR);
  }

  private opaque(address: bigint, type: string): string {
    return `<${type} object at 0x${address.toString(16)}>`;
  }

  /** A PyLongObject: base 2^digitBits digits, least significant first. */
  private long(address: bigint): string {
    const o = this.layout.objects;
    let count: number;
    let negative: boolean;
    if (o.longTag !== undefined) {
      const tag = this.memory.readU64(address + BigInt(o.longTag));
      count = Number(tag >> 3n);
      negative = (tag & 3n) === 2n; // sign = 1 - (tag & 3): 0 positive, 1 zero, 2 negative
    } else {
      const size = Number(this.memory.readI64(address + BigInt(o.varSize)));
      count = Math.abs(size);
      negative = size < 0;
    }
    if (count > MAX_INT_DIGITS) return `<int of ${count * o.digitBits} bits>`;
    const digits = count === 0 ? Buffer.alloc(0) : this.memory.read(address + BigInt(o.longDigits), count * 4);
    let value = 0n;
    for (let i = count - 1; i >= 0; i--) value = (value << BigInt(o.digitBits)) | BigInt(digits.readUInt32LE(i * 4));
    return (negative ? '-' : '') + value.toString();
  }

  /** tp_name, a C string; cached per type. */
  private typeName(typeAddress: bigint): string {
    let name = this.typeNames.get(typeAddress);
    if (name === undefined) {
      name = readCString(this.memory, this.memory.readPtr(typeAddress + BigInt(this.layout.objects.typeName)), 128);
      this.typeNames.set(typeAddress, name);
    }
    return name;
  }
}

/** A NUL-terminated string of at most `max` bytes, read a page at a time so the end of a mapping does not fail it. */
export function readCString(memory: MemorySource, address: bigint, max: number): string {
  const parts: Buffer[] = [];
  let total = 0;
  let at = address;
  while (total < max) {
    const toPageEnd = 4096 - Number(at % 4096n);
    const chunk = memory.read(at, Math.min(toPageEnd, max - total));
    const nul = chunk.indexOf(0);
    if (nul >= 0) {
      parts.push(chunk.subarray(0, nul));
      break;
    }
    parts.push(chunk);
    total += chunk.length;
    at += BigInt(chunk.length);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** repr(float): shortest round-trip digits, exponent form outside [1e-4, 1e16) as Python's float_repr_style 'short'. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mantissa, exponent] = x.toExponential().split('e') as [string, string];
    const sign = exponent.startsWith('-') ? '-' : '+';
    return `${mantissa}e${sign}${exponent.replace(/^[-+]/, '').padStart(2, '0')}`;
  }
  const text = String(x);
  return Number.isInteger(x) ? `${Object.is(x, -0) ? '-' : ''}${text}.0` : text;
}

/** repr(str): single quotes unless the text has a ' and no ", escapes for controls; printable non-ASCII stays. */
export function strRepr(text: string, truncated = false): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return cut(quote + out + quote + (truncated ? '...' : ''));
}

/** repr(bytes) with the given prefix ("b" on 3.x, "" for 2.7's str). */
export function bytesRepr(data: Buffer, prefix: string, truncated = false): string {
  const quote = data.includes(0x27) && !data.includes(0x22) ? '"' : "'";
  let out = '';
  for (const b of data) {
    const ch = String.fromCharCode(b);
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b < 0x20 || b >= 0x7f) out += '\\x' + b.toString(16).padStart(2, '0');
    else out += ch;
  }
  return cut(prefix + quote + out + quote + (truncated ? '...' : ''));
}

function cut(text: string): string {
  return text.length > MAX_REPR ? text.slice(0, MAX_REPR - 3) + '...' : text;
}
