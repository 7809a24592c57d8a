/**
 * The allocation sites tracemalloc recorded as a pprof profile
 * (github.com/google/pprof, proto/profile.proto), gzip-compressed: the
 * format `go tool pprof`, Pyroscope, Grafana and Parca read. Two sample
 * types, inuse_space (bytes) and inuse_objects (count), one sample per
 * site with its Python stack, innermost frame first as pprof wants.
 * tracemalloc records file and line, not function names, so each frame's
 * function is named "file:line".
 *
 * The protobuf is written by hand: five message types, varints and
 * length-delimited fields only.
 */
import { gzipSync } from 'node:zlib';

export interface AllocationSite {
  /** Bytes live at the end of the window. */
  size: number;
  count: number;
  /** "file:line", outermost first (as tracemalloc evidence keeps it). */
  traceback: readonly string[];
}

export interface ProfileTiming {
  /** When the profile was taken, ms since the epoch. */
  endMs: number;
  durationMs: number;
}

class Writer {
  private readonly parts: Buffer[] = [];

  varint(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.raw(value);
    return this;
  }

  bytes(field: number, data: Buffer): this {
    this.key(field, 2);
    this.raw(data.length);
    this.parts.push(data);
    return this;
  }

  /** A packed repeated varint field. */
  packed(field: number, values: readonly (number | bigint)[]): this {
    const inner = new Writer();
    for (const v of values) inner.raw(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }

  private key(field: number, wireType: number): void {
    this.raw(field * 8 + wireType);
  }

  /** Base-128 varint; negatives as 64-bit two's complement, as protobuf's int64. */
  raw(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v === 0n ? byte : byte | 0x80);
    } while (v !== 0n);
    this.parts.push(Buffer.from(out));
  }
}

/** The gzip-compressed profile. */
export function encodePprof(sites: readonly AllocationSite[], timing: ProfileTiming): Buffer {
  const strings = [''];
  const stringIds = new Map<string, number>([['', 0]]);
  const str = (s: string): number => {
    let id = stringIds.get(s);
    if (id === undefined) {
      id = strings.length;
      strings.push(s);
      stringIds.set(s, id);
    }
    return id;
  };
  const profile = new Writer();
  const valueType = (type: string, unit: string): Buffer => new Writer().varint(1, str(type)).varint(2, str(unit)).finish();
  profile.bytes(1, valueType('inuse_objects', 'count'));
  profile.bytes(1, valueType('inuse_space', 'bytes'));
  // One location and function per distinct frame; ids start at 1 (0 means none in pprof).
  const locations = new Map<string, number>();
  const functions: Buffer[] = [];
  const locationMessages: Buffer[] = [];
  const locationOf = (frame: string): number => {
    let id = locations.get(frame);
    if (id !== undefined) return id;
    id = locations.size + 1;
    locations.set(frame, id);
    const colon = frame.lastIndexOf(':');
    const file = colon > 0 ? frame.slice(0, colon) : frame;
    const line = colon > 0 ? Number(frame.slice(colon + 1)) || 0 : 0;
    functions.push(new Writer().varint(1, id).varint(2, str(frame)).varint(3, str(frame)).varint(4, str(file)).finish());
    const lineMessage = new Writer().varint(1, id).varint(2, line).finish();
    locationMessages.push(new Writer().varint(1, id).bytes(4, lineMessage).finish());
    return id;
  };
  for (const site of sites) {
    if (site.traceback.length === 0) continue;
    const stack = [...site.traceback].reverse().map(locationOf);
    profile.bytes(2, new Writer().packed(1, stack).packed(2, [site.count, site.size]).finish());
  }
  for (const l of locationMessages) profile.bytes(4, l);
  for (const f of functions) profile.bytes(5, f);
  // The fields after the string table refer to it: add their strings first.
  const period = valueType('space', 'bytes');
  const defaultType = str('inuse_space');
  for (const s of strings) profile.bytes(6, Buffer.from(s, 'utf8'));
  profile.varint(9, BigInt(Math.round(timing.endMs - timing.durationMs)) * 1_000_000n);
  profile.varint(10, BigInt(Math.round(timing.durationMs)) * 1_000_000n);
  profile.bytes(11, period);
  profile.varint(12, 1);
  profile.varint(14, defaultType);
  return gzipSync(profile.finish());
}
