import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAYOUTS, OB_TYPE, type Layout, type LineTableFormat } from '../../src/cpython/layouts.js';
import { lineForOffset } from '../../src/cpython/linetable.js';
import { NotAnObjectError, readBytes, readText } from '../../src/cpython/objects.js';
import { readCString, ValueReader } from '../../src/cpython/values.js';
import { StackReader, StackReadBudgetError, type PythonThread } from '../../src/cpython/stacks.js';
import type { InterpreterSymbols } from '../../src/cpython/locate.js';
import { BaseMemorySource, MemoryReadError } from '../../src/memory/source.js';
import { seeded } from '../helpers/seeded.js';
import { fuzz, int, pick, randomBytes, type Rand } from '../helpers/fuzz.js';

/**
 * A target's memory held in a Buffer at `base`: what a live process or a core
 * would give, with every read's length recorded, since a real source
 * allocates the length it is asked for before reading.
 */
class BufferMemory extends BaseMemorySource {
  largestRead = 0;
  bytesRead = 0;
  constructor(
    readonly base: bigint,
    readonly bytes: Buffer,
  ) {
    super();
  }
  read(address: bigint, length: number): Buffer {
    this.largestRead = Math.max(this.largestRead, length);
    this.bytesRead += length;
    const at = address - this.base;
    if (at < 0n || at + BigInt(length) > BigInt(this.bytes.length) || length < 0) {
      throw new MemoryReadError(address, length, 'not in the test memory');
    }
    return Buffer.from(this.bytes.subarray(Number(at), Number(at) + length));
  }
  close(): void {}
}

/** The decoders' own errors: memory that cannot be read, or that does not hold the object expected. */
function allowed(err: unknown): boolean {
  return err instanceof MemoryReadError || err instanceof NotAnObjectError || err instanceof StackReadBudgetError;
}

/** Random memory where most words point back into it, so decoders follow pointers instead of failing at once. */
function hostileMemory(rand: Rand, size: number): BufferMemory {
  const base = 0x7f00_0000_0000n;
  const out = Buffer.alloc(size);
  for (let p = 0; p + 8 <= size; p += 8) {
    const r = rand();
    if (r < 0.5) out.writeBigUInt64LE(base + BigInt(int(rand, size)), p);
    else if (r < 0.7) out.writeBigUInt64LE(BigInt(int(rand, 256)), p);
    else if (r < 0.8) out.writeBigUInt64LE(pick(rand, [0n, 0xffffffffffffffffn, 0x7fffffffffffffffn, 1n << 40n]), p);
    else out.writeBigUInt64LE(BigInt(int(rand, 2 ** 32)) * BigInt(int(rand, 2 ** 32)), p);
  }
  return new BufferMemory(base, out);
}

const FORMATS: LineTableFormat[] = ['lnotab-unsigned', 'lnotab', 'linetable-3.10', 'locations'];

test('line table decoding of random tables ends with a line or null for every format and offset', () => {
  const rand = seeded(0x6c696e65);
  function* cases(): Generator<{ format: LineTableFormat; table: Buffer; first: number; offset: number }> {
    for (let k = 0; k < 4000; k++) {
      const table = randomBytes(rand, pick(rand, [4, 64, 4096]));
      // Long runs of continuation bytes: a varint that never ends.
      if (rand() < 0.1) table.fill(0xf0 | int(rand, 16), 0, table.length).fill(0x7f, 1);
      yield {
        format: pick(rand, FORMATS),
        table,
        first: pick(rand, [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), int(rand, 10_000)]),
        offset: pick(rand, [0, -1, 2, int(rand, 10_000), 2 ** 31, 1.8e19]),
      };
    }
  }
  fuzz(
    'line tables (lineForOffset)',
    cases(),
    (c) => {
      const line = lineForOffset(c.format, c.table, c.first, c.offset);
      assert.ok(line === null || Number.isSafeInteger(line), `${c.format}: line ${line} is not a line number`);
    },
    () => false,
    (c) => `${c.format}, ${c.table.length} bytes, offset ${c.offset}`,
  );
});

test('str, bytes and value decoding over random memory throw only memory errors and read boundedly, for every layout', () => {
  const rand = seeded(0x76616c75);
  for (const layout of LAYOUTS) {
    const memory = hostileMemory(rand, 256 * 1024);
    const word = (): bigint => memory.base + BigInt(int(rand, memory.bytes.length));
    const symbols: InterpreterSymbols = { none: word(), true: word(), false: word(), cellType: word(), codeType: word() };
    const values = new ValueReader(memory, layout, symbols);
    const ops = [
      (a: bigint) => values.describe(a),
      (a: bigint) => readText(memory, layout, a),
      (a: bigint) => readText(memory, layout, a, 200),
      (a: bigint) => readBytes(memory, layout, a),
      (a: bigint) => readCString(memory, a, 128),
    ];
    function* cases(): Generator<{ op: number; address: bigint }> {
      for (let k = 0; k < 600; k++) yield { op: int(rand, ops.length), address: rand() < 0.9 ? word() : memory.readPtr(word() & ~7n) };
    }
    memory.largestRead = 0;
    fuzz(
      `values ${layout.major}.${layout.minor} (describe, readText, readBytes)`,
      cases(),
      (c) => ops[c.op]!(c.address),
      allowed,
      (c) => `op ${c.op} at 0x${c.address.toString(16)}`,
    );
    // readText's cap is MAX_OBJECT_BYTES (1 MiB); UCS-4 text of that length is 4 MiB at most.
    assert.ok(memory.largestRead <= 4 * 1024 * 1024, `${layout.major}.${layout.minor}: one read asked for ${memory.largestRead} bytes`);
  }
});

test('a cell that holds itself shows as a cell instead of recursing until the stack overflows', () => {
  for (const layout of LAYOUTS) {
    const heap = new Heap(1 << 16);
    const cellType = heap.alloc(64);
    heap.ptr(cellType + BigInt(layout.objects.typeName), strData(heap, 'cell'));
    const cell = heap.alloc(64);
    heap.ptr(cell + BigInt(OB_TYPE), cellType);
    heap.ptr(cell + BigInt(layout.objects.cellRef), cell);
    const value = new ValueReader(heap.memory, layout, { cellType }).describe(cell);
    assert.deepEqual(value, { type: 'cell', value: `<cell object at 0x${cell.toString(16)}>` }, `${layout.major}.${layout.minor}`);
  }
});

/** A NUL-terminated C string in the heap (a type's tp_name). */
function strData(heap: Heap, text: string): bigint {
  const at = heap.alloc(text.length + 1);
  heap.raw(at, Buffer.from(text + '\0', 'latin1'));
  return at;
}

/** A bump allocator over a BufferMemory, for laying out interpreter structures. */
class Heap {
  readonly memory: BufferMemory;
  private next = 64n;
  constructor(size: number) {
    this.memory = new BufferMemory(0x5500_0000_0000n, Buffer.alloc(size));
  }
  alloc(size: number): bigint {
    const at = this.memory.base + this.next;
    this.next += BigInt(Math.ceil(size / 16) * 16);
    if (this.next > BigInt(this.memory.bytes.length)) throw new Error('test heap full');
    return at;
  }
  ptr(at: bigint, value: bigint): void {
    this.memory.bytes.writeBigUInt64LE(value, Number(at - this.memory.base));
  }
  i32(at: bigint, value: number): void {
    this.memory.bytes.writeInt32LE(value, Number(at - this.memory.base));
  }
  u8(at: bigint, value: number): void {
    this.memory.bytes.writeUInt8(value, Number(at - this.memory.base));
  }
  raw(at: bigint, data: Buffer): void {
    data.copy(this.memory.bytes, Number(at - this.memory.base));
  }
}

/** An interpreter's state for `layout` in a Heap: `threads` thread states whose frame chains `frames` builds. */
function interpreterState(heap: Heap, layout: Layout, threads: number, frames: (thread: number) => bigint): InterpreterSymbols {
  const symbols: InterpreterSymbols = {};
  const interp = heap.alloc(1024);
  if (layout.head.kind === 'runtime') {
    symbols.runtime = heap.alloc(4096);
    heap.ptr(symbols.runtime + BigInt(layout.head.offset), interp);
  } else {
    symbols.interpHead = heap.alloc(8);
    heap.ptr(symbols.interpHead, interp);
  }
  let previous = interp + BigInt(layout.interp.threadsHead);
  for (let t = 0; t < threads; t++) {
    const tstate = heap.alloc(512);
    heap.ptr(previous, tstate);
    previous = tstate + BigInt(layout.tstate.next);
    const f = layout.tstate.frame;
    if (f.kind === 'direct') heap.ptr(tstate + BigInt(f.offset), frames(t));
    else {
      const cframe = heap.alloc(64);
      heap.ptr(tstate + BigInt(f.cframe), cframe);
      heap.ptr(cframe + BigInt(f.currentFrame), frames(t));
    }
  }
  return symbols;
}

/** A str (or 2.7 string) object holding `text`. */
function strObject(heap: Heap, layout: Layout, text: string): bigint {
  const data = Buffer.from(text, 'latin1');
  if (!layout.str) {
    const at = heap.alloc(layout.bytes.data + data.length + 1);
    heap.ptr(at + BigInt(layout.bytes.size), BigInt(data.length));
    heap.raw(at + BigInt(layout.bytes.data), data);
    return at;
  }
  const at = heap.alloc(layout.str.asciiData + data.length + 1);
  heap.ptr(at + BigInt(layout.str.length), BigInt(data.length));
  heap.i32(at + BigInt(layout.str.state), (1 << 2) | (1 << 5) | (1 << 6)); // kind 1, compact, ascii
  heap.raw(at + BigInt(layout.str.asciiData), data);
  return at;
}

function bytesObject(heap: Heap, layout: Layout, size: number): bigint {
  const at = heap.alloc(layout.bytes.data + size);
  heap.ptr(at + BigInt(layout.bytes.size), BigInt(size));
  return at;
}

/** A code object; its type is left NULL, and the readers here are given no PyCode_Type to check it against. */
function codeObject(heap: Heap, layout: Layout, name: bigint, file: bigint, table: bigint): bigint {
  const c = layout.code;
  const at = heap.alloc(512);
  heap.ptr(at + BigInt(c.name), name);
  if (c.qualname !== undefined) heap.ptr(at + BigInt(c.qualname), name);
  heap.ptr(at + BigInt(c.filename), file);
  heap.ptr(at + BigInt(c.linetable), table);
  heap.i32(at + BigInt(c.firstlineno), 1);
  return at;
}

/** A frame of `layout` running `code`; link() sets its back (previous) pointer. */
function frameObject(heap: Heap, layout: Layout, code: bigint): bigint {
  const at = heap.alloc(160);
  heap.ptr(at + BigInt(layout.frame.code), code);
  return at;
}

function link(heap: Heap, layout: Layout, frame: bigint, previous: bigint): void {
  const f = layout.frame;
  heap.ptr(frame + BigInt(f.kind === 'frame-object' ? f.back : f.previous), previous);
}

function frameCount(threads: PythonThread[]): number {
  return threads.reduce((n, t) => n + t.frames.length, 0);
}

test('a frame chain that loops back on itself is read once per thread, for every layout', () => {
  for (const layout of LAYOUTS) {
    const heap = new Heap(1 << 20);
    const code = codeObject(heap, layout, strObject(heap, layout, 'f'), strObject(heap, layout, 'a.py'), bytesObject(heap, layout, 0));
    const chain = [0, 1, 2].map(() => frameObject(heap, layout, code));
    chain.forEach((f, i) => link(heap, layout, f, chain[(i + 1) % chain.length]!));
    // Two threads, each starting in the loop: the second runs into the first's frames.
    const threads = new StackReader(
      heap.memory,
      layout,
      interpreterState(heap, layout, 2, (t) => chain[t]!),
    ).threads();
    const label = `${layout.major}.${layout.minor}`;
    assert.equal(threads.length, 2, label);
    assert.deepEqual(
      threads.map((t) => t.frames.length),
      [3, 0],
      label,
    );
    assert.match(threads[1]!.error ?? '', /its frames run into thread state 0x[0-9a-f]+'s/, label);
  }
});

/** 4096 thread states all starting the same 10,000-frame chain, each frame with a code object of its own, all sharing one line table. */
function sharedChain(tableBytes: number): { heap: Heap; layout: Layout; symbols: InterpreterSymbols } {
  const layout = LAYOUTS.find((l) => l.major === 3 && l.minor === 11)!;
  const heap = new Heap((12 << 20) + tableBytes);
  const table = bytesObject(heap, layout, tableBytes);
  const name = strObject(heap, layout, 'f');
  const file = strObject(heap, layout, 'a.py');
  let previous = 0n;
  for (let i = 0; i < 10_000; i++) {
    const frame = frameObject(heap, layout, codeObject(heap, layout, name, file, table));
    link(heap, layout, frame, previous);
    previous = frame;
  }
  const chain = previous;
  return { heap, layout, symbols: interpreterState(heap, layout, 4096, () => chain) };
}

test('thousands of threads sharing one long frame chain, and code objects with 1 MiB line tables, cost bounded memory and time', () => {
  const cases = [
    { what: 'small line tables', ...sharedChain(16) },
    { what: '1 MiB line tables', ...sharedChain(1 << 20) },
  ];
  const results: PythonThread[][] = [];
  fuzz(
    'stacks (4096 threads x one 10,000-frame chain)',
    cases,
    (c) => {
      c.heap.memory.bytesRead = 0;
      const threads = new StackReader(c.heap.memory, c.layout, c.symbols).threads();
      console.log(`${c.what}: read ${threads.length} threads, ${frameCount(threads)} frames, ${(c.heap.memory.bytesRead / 2 ** 20).toFixed(0)} MiB of memory`);
      results.push(threads);
    },
    allowed,
    (c) => c.what,
  );
  const [small, big] = results as [PythonThread[], PythonThread[]];
  // Before: 40,960,000 frames and 16 GiB read in 7 minutes.
  assert.equal(frameCount(small), 10_000, 'each frame is read once, in the first thread that reaches it');
  assert.equal(small.length, 4096);
  assert.match(small[1]!.error ?? '', /its frames run into thread state/);
  assert.ok(frameCount(big) < 100, 'the read stops at its byte budget');
  assert.match(big.at(-1)!.error ?? '', /stopped after reading 64 MiB of the target/);
});
