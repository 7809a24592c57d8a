/**
 * A small seeded fuzzer for memwhy's readers: mutations of valid inputs
 * (truncations, bit flips, length and offset fields overwritten with 0, -1,
 * 0xFFFFFFFF and huge values, swapped and spliced bytes) plus random bytes,
 * and a runner that checks each case either returns or throws an allowed
 * error with a message, finishes, and leaves memory bounded.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';

export type Rand = () => number;

/** A mutated input and a few words saying how it was made, for failure messages. */
export interface Mutant {
  bytes: Buffer;
  how: string;
}

export function int(rand: Rand, n: number): number {
  return Math.floor(rand() * n);
}

export function pick<T>(rand: Rand, xs: readonly T[]): T {
  return xs[int(rand, xs.length)]!;
}

/** Values that break length and offset arithmetic, each written as 1, 2, 4 or 8 bytes. */
const HOSTILE: readonly bigint[] = [
  0n,
  1n,
  0xffn,
  0x7fffn,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xfffffff4n, // -12 as u32: steps back over a 12-byte header
  0xffffffffn,
  0x100000000n,
  1n << 40n,
  (1n << 53n) + 1n,
  0x7fffffffffffffffn,
  0xffffffffffffffffn,
];

function writeValue(buf: Buffer, at: number, width: 1 | 2 | 4 | 8, value: bigint): void {
  if (at < 0 || at + width > buf.length) return;
  const v = value & ((1n << BigInt(width * 8)) - 1n);
  if (width === 8) buf.writeBigUInt64LE(v, at);
  else buf.writeUIntLE(Number(v), at, width);
}

/**
 * One mutation of `seed`. `fields` are offsets of length/offset/count fields
 * worth aiming at (with their width); `hot` limits random positions to the
 * first `hot` bytes, where a format's headers and tables are.
 */
export function mutate(rand: Rand, seed: Buffer, fields: readonly [number, 1 | 2 | 4 | 8][] = [], hot = seed.length): Mutant {
  const at = (): number => int(rand, Math.max(1, Math.min(hot, seed.length)));
  const kind = int(rand, fields.length > 0 ? 7 : 6);
  switch (kind) {
    case 0: {
      const n = int(rand, seed.length);
      return { bytes: Buffer.from(seed.subarray(0, n)), how: `truncated to ${n} bytes` };
    }
    case 1: {
      const out = Buffer.from(seed);
      const flips = 1 + int(rand, 8);
      for (let i = 0; i < flips; i++) {
        const p = at();
        out[p] = out[p]! ^ (1 << int(rand, 8));
      }
      return { bytes: out, how: `${flips} bits flipped` };
    }
    case 2: {
      const out = Buffer.from(seed);
      const p = at();
      const width = pick(rand, [1, 2, 4, 8] as const);
      const value = pick(rand, HOSTILE);
      writeValue(out, p, width, value);
      return { bytes: out, how: `u${width * 8} at ${p} = 0x${value.toString(16)}` };
    }
    case 3: {
      const out = Buffer.from(seed);
      const n = 1 + int(rand, 16);
      const a = at();
      const b = at();
      for (let i = 0; i < n && a + i < out.length && b + i < out.length; i++) {
        const t = out[a + i]!;
        out[a + i] = out[b + i]!;
        out[b + i] = t;
      }
      return { bytes: out, how: `${n} bytes swapped at ${a} and ${b}` };
    }
    case 4: {
      const out = Buffer.from(seed);
      const p = at();
      const n = 1 + int(rand, 64);
      for (let i = 0; i < n && p + i < out.length; i++) out[p + i] = int(rand, 256);
      return { bytes: out, how: `${n} random bytes at ${p}` };
    }
    case 5: {
      // A chunk repeated or cut out: shifts every later offset.
      const p = at();
      const n = 1 + int(rand, 256);
      const cut = rand() < 0.5;
      const bytes = cut ? Buffer.concat([seed.subarray(0, p), seed.subarray(Math.min(seed.length, p + n))]) : Buffer.concat([seed.subarray(0, p + n), seed.subarray(p)]);
      return { bytes, how: `${n} bytes ${cut ? 'cut' : 'repeated'} at ${p}` };
    }
    default: {
      const out = Buffer.from(seed);
      const [p, width] = pick(rand, fields);
      const value = pick(rand, HOSTILE);
      writeValue(out, p, width, value);
      return { bytes: out, how: `field u${width * 8} at ${p} = 0x${value.toString(16)}` };
    }
  }
}

export function randomBytes(rand: Rand, max: number): Buffer {
  const out = Buffer.alloc(int(rand, max + 1));
  for (let i = 0; i < out.length; i++) out[i] = int(rand, 256);
  return out;
}

/** What a reader's fuzzing did, for RELIABILITY.md. */
export interface FuzzTally {
  reader: string;
  cases: number;
  accepted: number;
  rejected: number;
  /** Why cases were rejected: error class -> count. */
  errors: Map<string, number>;
  /** Growth over the run, and the peak of live ArrayBuffer memory sampled after each case. */
  rssGrowthMiB: number;
  heapGrowthMiB: number;
  peakArrayBuffersMiB: number;
  slowestCaseMs: number;
  slowestCase: string;
  totalMs: number;
}

/**
 * No case may take longer: a guard against hangs, not a performance figure.
 * Generous, since the guard must hold beside a heavy job: the stack reader's
 * 64 MiB-budget case took 2.9 s at load 10-15 on 2 cores (under 1 s alone).
 */
export const CASE_LIMIT_MS = 10_000;
/** Memory a reader may gain over a whole run: each case's input is small, so more means something allocated by a hostile length. */
export const MEMORY_LIMIT_MIB = 200;

const MiB = 1024 * 1024;

/**
 * Runs `read` on each case. A case passes when it returns, or throws an
 * error that `allowed` accepts with a non-empty one-line message; it fails
 * on any other error, on taking over CASE_LIMIT_MS, or when live memory
 * grows past MEMORY_LIMIT_MIB.
 */
export function fuzz<T>(reader: string, cases: Iterable<T>, read: (input: T) => unknown, allowed: (err: unknown) => boolean, describe: (input: T) => string = () => ''): FuzzTally {
  global.gc?.();
  const before = process.memoryUsage();
  const tally: FuzzTally = {
    reader,
    cases: 0,
    accepted: 0,
    rejected: 0,
    errors: new Map(),
    rssGrowthMiB: 0,
    heapGrowthMiB: 0,
    peakArrayBuffersMiB: 0,
    slowestCaseMs: 0,
    slowestCase: '',
    totalMs: 0,
  };
  const began = performance.now();
  for (const input of cases) {
    tally.cases++;
    const start = performance.now();
    try {
      read(input);
      tally.accepted++;
    } catch (err) {
      const what = `${reader}, case ${tally.cases} (${describe(input)})`;
      if (!allowed(err)) {
        assert.fail(`${what} threw an error it should not: ${err instanceof Error ? err.stack : String(err)}`);
      }
      const message = err instanceof Error ? err.message : '';
      assert.ok(message.trim() !== '', `${what} threw ${String(err)} without a message`);
      assert.ok(!message.includes('\n'), `${what}: the message is not one line: ${message}`);
      tally.rejected++;
      const name = err instanceof Error ? err.constructor.name : typeof err;
      tally.errors.set(name, (tally.errors.get(name) ?? 0) + 1);
    }
    const ms = performance.now() - start;
    if (ms > tally.slowestCaseMs) {
      tally.slowestCaseMs = ms;
      tally.slowestCase = describe(input);
    }
    assert.ok(ms < CASE_LIMIT_MS, `${reader}, case ${tally.cases} (${describe(input)}) took ${ms.toFixed(0)} ms`);
    const now = process.memoryUsage();
    tally.peakArrayBuffersMiB = Math.max(tally.peakArrayBuffersMiB, (now.arrayBuffers - before.arrayBuffers) / MiB);
    assert.ok(
      (now.arrayBuffers - before.arrayBuffers) / MiB < MEMORY_LIMIT_MIB && (now.rss - before.rss) / MiB < MEMORY_LIMIT_MIB,
      `${reader}, case ${tally.cases} (${describe(input)}) left ${((now.arrayBuffers - before.arrayBuffers) / MiB).toFixed(0)} MiB of buffers and ${((now.rss - before.rss) / MiB).toFixed(0)} MiB more RSS`,
    );
  }
  tally.totalMs = performance.now() - began;
  global.gc?.();
  const after = process.memoryUsage();
  tally.rssGrowthMiB = (after.rss - before.rss) / MiB;
  tally.heapGrowthMiB = (after.heapUsed - before.heapUsed) / MiB;
  report(tally);
  return tally;
}

function report(t: FuzzTally): void {
  const errors = [...t.errors].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(
    `fuzz ${t.reader}: ${t.cases} cases, ${t.accepted} accepted, ${t.rejected} rejected (${errors}); ` +
      `RSS ${t.rssGrowthMiB >= 0 ? '+' : ''}${t.rssGrowthMiB.toFixed(1)} MiB, heap ${t.heapGrowthMiB >= 0 ? '+' : ''}${t.heapGrowthMiB.toFixed(1)} MiB, ` +
      `peak buffers +${t.peakArrayBuffersMiB.toFixed(1)} MiB, slowest case ${t.slowestCaseMs.toFixed(1)} ms (${t.slowestCase || 'random'}), all ${(t.totalMs / 1000).toFixed(1)} s`,
  );
}
