/**
 * Python stacks decoded from memory alone: interpreters -> thread states ->
 * frames -> code objects. Works on any MemorySource (a live process or a core)
 * and never trusts a pointer too far: every walk is bounded, loops are cut,
 * and a thread whose frames cannot be read keeps what was read plus an error.
 */
import { BaseMemorySource, type MemorySource } from '../memory/source.js';
import { OB_TYPE, type FrameObjectLayout, type InterpreterFrameLayout, type Layout } from './layouts.js';
import type { InterpreterSymbols } from './locate.js';
import { lineForOffset } from './linetable.js';
import { readBytes, readText } from './objects.js';
import { ValueReader, type ValueSummary } from './values.js';

export interface PythonFrame {
  /** The qualified name (3.11+) or the plain name of the function. */
  function: string;
  file: string;
  /** null where the line table gives the instruction no line. */
  line: number | null;
  /** With the locals option: the bound fast locals (and cells), in slot order. */
  locals?: LocalVariable[];
  /**
   * Which call of the C eval loop runs this frame, counted from the
   * innermost (0): what lets a native stack put each frame beside its
   * _PyEval_EvalFrameDefault. One frame per call up to 3.10; from 3.11 a
   * call runs every frame from its entry frame (3.11's is_entry) or shim
   * frame (3.12+: the C stack's entry frame) inwards.
   */
  evalCall: number;
}

export interface LocalVariable extends ValueSummary {
  name: string;
}

export interface PythonThread {
  /** The PyThreadState's address. */
  threadState: bigint;
  /** pthread_self() of the thread. */
  threadId: bigint;
  /** The kernel tid from the thread state (3.11+); older versions map threadId separately. */
  nativeThreadId?: number;
  holdsGil: boolean;
  /** Innermost first. */
  frames: PythonFrame[];
  /** How many calls of the C eval loop the frames walked belong to (see PythonFrame.evalCall). */
  evalCalls: number;
  /** Why the walk stopped early, if it did. */
  error?: string;
}

export interface StackReadOptions {
  /** Read each frame's local variables too (simple values in full, others by type and size). */
  locals: boolean;
  maxInterpreters: number;
  maxThreads: number;
  maxFrames: number;
  maxLocals: number;
  /** Bytes of the target one threads() call may read: what bounds the work, and the memory, whatever the pointers say. */
  maxBytes: number;
}

/**
 * Limits far beyond real programs (the default recursion limit is 1000), close enough to stop a loop through garbage.
 * maxBytes: a frame costs about 200 bytes of reads (frame and code object
 * headers) plus its code's names and line table once, so 64 MiB is over
 * 300,000 frames; without it, 4096 thread states sharing one 10,000-frame
 * chain of code objects with 1 MiB line tables read 16 GiB in 7 minutes
 * (test/fuzz/cpythonDecoders.test.ts).
 */
export const DEFAULT_READ: StackReadOptions = {
  locals: false,
  maxInterpreters: 64,
  maxThreads: 4096,
  maxFrames: 10_000,
  maxLocals: 1000,
  maxBytes: 64 * 1024 * 1024,
};

/** A stack read stopped at StackReadOptions.maxBytes: the target's thread states or frames are damaged or hostile. */
export class StackReadBudgetError extends Error {
  constructor(max: number) {
    super(`stopped after reading ${max / 2 ** 20} MiB of the target: its thread states or frames look damaged`);
    this.name = 'StackReadBudgetError';
  }
}

/** The source as a stack read sees it: every read counted, and refused past the budget before it allocates. */
class BudgetedMemory extends BaseMemorySource {
  used = 0;
  exhausted = false;
  constructor(
    private readonly inner: MemorySource,
    private readonly max: number,
  ) {
    super();
  }
  read(address: bigint, length: number): Buffer {
    if (this.used + length > this.max) {
      this.exhausted = true;
      throw new StackReadBudgetError(this.max);
    }
    this.used += length;
    return this.inner.read(address, length);
  }
  /** The caller owns the source and closes it. */
  close(): void {}
}

interface CodeInfo {
  /** The code object's bytes from which the rest was decoded. */
  header: Buffer;
  function: string;
  file: string;
  firstLine: number;
  table: Buffer;
  /** Slot names for --locals, read on first use. */
  localNames?: string[];
}

/** The bytes of one struct that hold every field the reader wants, read at once: one read instead of several. */
interface Span {
  start: number;
  length: number;
}

/** Fields of a struct read as one Span. */
class Fields {
  constructor(
    readonly address: bigint,
    private readonly bytes: Buffer,
    private readonly start: number,
  ) {}
  ptr(offset: number): bigint {
    return this.bytes.readBigUInt64LE(offset - this.start);
  }
  i32(offset: number): number {
    return this.bytes.readInt32LE(offset - this.start);
  }
  u8(offset: number): number {
    return this.bytes.readUInt8(offset - this.start);
  }
}

/** The span covering `fields`, each [offset, width]. */
function span(...fields: [number, number][]): Span {
  const start = Math.min(...fields.map(([o]) => o));
  return { start, length: Math.max(...fields.map(([o, w]) => o + w)) - start };
}

const PTR = 8;
const INT = 4;

export class StackReader {
  private readonly memory: BudgetedMemory;
  private readonly codes = new Map<bigint, CodeInfo>();
  private readonly tstateSpan: Span;
  private readonly frameSpan: Span;
  /** ob_type plus every PyCodeObject field used: one read checks the type, validates the cache and decodes. */
  private readonly codeSpan: Span;
  private readonly limits: StackReadOptions;
  private readonly values: ValueReader;

  constructor(
    memory: MemorySource,
    private readonly layout: Layout,
    private readonly symbols: InterpreterSymbols,
    options: Partial<StackReadOptions> = {},
  ) {
    this.limits = { ...DEFAULT_READ, ...options };
    this.memory = new BudgetedMemory(memory, this.limits.maxBytes);
    this.values = new ValueReader(this.memory, layout, symbols);
    const t = layout.tstate;
    const frameField = t.frame.kind === 'direct' ? t.frame.offset : t.frame.cframe;
    this.tstateSpan = span([t.next, PTR], [t.threadId, PTR], [frameField, PTR], ...(t.nativeThreadId === undefined ? [] : ([[t.nativeThreadId, PTR]] as [number, number][])));
    const f = layout.frame;
    this.frameSpan =
      f.kind === 'frame-object'
        ? span([f.back, PTR], [f.code, PTR], [f.lasti, INT], [f.lineno, INT])
        : span([f.code, PTR], [f.previous, PTR], [f.instr, PTR], [f.owner, 1], ...(f.isEntry === undefined ? [] : ([[f.isEntry, 1]] as [number, number][])));
    const c = layout.code;
    this.codeSpan = span(
      [OB_TYPE, PTR],
      [c.filename, PTR],
      [c.name, PTR],
      [c.qualname ?? c.name, PTR],
      [c.linetable, PTR],
      [c.firstlineno, INT],
      [layout.locals.codeNames, PTR],
      ...(layout.locals.codeCount === undefined ? [] : ([[layout.locals.codeCount, INT]] as [number, number][])),
    );
  }

  /** Every thread of every interpreter, in the interpreters' own list order. */
  threads(): PythonThread[] {
    this.memory.used = 0;
    this.memory.exhausted = false;
    const out: PythonThread[] = [];
    /** Each frame read, and the thread state whose stack it is in: a frame belongs to one thread. */
    const frameOwners = new Map<bigint, bigint>();
    const interps = this.walk(this.firstInterpreter(), this.layout.interp.next, this.limits.maxInterpreters);
    for (const interp of interps) {
      const holder = this.gilHolder(interp);
      let tstate = this.memory.readPtr(interp + BigInt(this.layout.interp.threadsHead));
      const seen = new Set<bigint>();
      while (tstate !== 0n && !seen.has(tstate) && seen.size < this.limits.maxThreads) {
        seen.add(tstate);
        const fields = this.struct(tstate, this.tstateSpan);
        out.push(this.thread(fields, holder, frameOwners));
        // The thread that ran out of budget says so; the rest would each fail the same way.
        if (this.memory.exhausted) return out;
        tstate = fields.ptr(this.layout.tstate.next);
      }
    }
    return out;
  }

  private firstInterpreter(): bigint {
    const head = this.layout.head;
    if (head.kind === 'runtime') return this.memory.readPtr(this.symbols.runtime! + BigInt(head.offset));
    return this.memory.readPtr(this.symbols.interpHead!);
  }

  /** The thread state holding the GIL in this interpreter, or 0n when it is released. */
  private gilHolder(interp: bigint): bigint {
    const gil = this.layout.gil;
    if (gil.kind === 'current-tstate') {
      return this.symbols.currentThreadState === undefined ? 0n : this.memory.readPtr(this.symbols.currentThreadState);
    }
    const base = gil.kind === 'runtime' ? this.symbols.runtime! + BigInt(gil.offset) : this.memory.readPtr(interp + BigInt(gil.pointer));
    if (base === 0n) return 0n;
    const locked = this.memory.readI32(base + BigInt(gil.state.locked));
    return locked ? this.memory.readPtr(base + BigInt(gil.state.lastHolder)) : 0n;
  }

  private thread(tstate: Fields, gilHolder: bigint, frameOwners: Map<bigint, bigint>): PythonThread {
    const t = this.layout.tstate;
    const thread: PythonThread = {
      threadState: tstate.address,
      threadId: tstate.ptr(t.threadId),
      holdsGil: tstate.address === gilHolder,
      frames: [],
      evalCalls: 0,
    };
    if (t.nativeThreadId !== undefined) thread.nativeThreadId = Number(tstate.ptr(t.nativeThreadId));
    try {
      const f = this.layout.frame;
      if (f.kind === 'frame-object') this.frameObjects(this.currentFrame(tstate), f, thread, frameOwners);
      else this.interpreterFrames(this.currentFrame(tstate), f, thread, frameOwners);
    } catch (err) {
      thread.error = err instanceof Error ? err.message : String(err);
    }
    return thread;
  }

  private currentFrame(tstate: Fields): bigint {
    const f = this.layout.tstate.frame;
    if (f.kind === 'direct') return tstate.ptr(f.offset);
    const cframe = tstate.ptr(f.cframe);
    return cframe === 0n ? 0n : this.memory.readPtr(cframe + BigInt(f.currentFrame));
  }

  /** <= 3.10: PyFrameObject linked by f_back, each run by a call of the eval loop of its own. */
  private frameObjects(first: bigint, f: FrameObjectLayout, thread: PythonThread, owners: Map<bigint, bigint>): void {
    for (const frame of this.frames(first, f.back, thread, owners)) {
      const evalCall = thread.evalCalls++;
      const codeAddress = frame.ptr(f.code);
      const code = this.code(codeAddress);
      if (!code) continue;
      const lasti = frame.i32(f.lasti);
      // 3.10's PyFrame_GetLineNumber prefers f_lineno, which only tracing sets.
      const traced = f.lastiUnit === 'code-unit' ? frame.i32(f.lineno) : 0;
      const offset = f.lastiUnit === 'byte' ? lasti : lasti * 2;
      const line = traced || lineForOffset(this.layout.code.lineTable, code.table, code.firstLine, offset);
      thread.frames.push(this.withLocals({ function: code.function, file: code.file, line, evalCall }, frame.address, code));
    }
  }

  /**
   * 3.11+: _PyInterpreterFrame linked by previous. Shim frames owned by the
   * C stack (3.12+) are not shown: each closes one call of the eval loop,
   * as 3.11's is_entry does on the call's first frame.
   */
  private interpreterFrames(first: bigint, f: InterpreterFrameLayout, thread: PythonThread, owners: Map<bigint, bigint>): void {
    const codeStart = BigInt(this.layout.code.codeAdaptive!);
    for (const frame of this.frames(first, f.previous, thread, owners)) {
      if (f.ownedByCStack !== undefined && frame.u8(f.owner) === f.ownedByCStack) {
        thread.evalCalls++;
        continue;
      }
      const evalCall = thread.evalCalls;
      if (f.isEntry !== undefined && frame.u8(f.isEntry) !== 0) thread.evalCalls++;
      const codeAddress = frame.ptr(f.code);
      const code = this.code(codeAddress);
      if (!code) continue;
      // _PyInterpreterFrame_LASTI counts code units from the first instruction; the line table wants bytes.
      const offset = Number(frame.ptr(f.instr) - (codeAddress + codeStart));
      const line = lineForOffset(this.layout.code.lineTable, code.table, code.firstLine, offset);
      thread.frames.push(this.withLocals({ function: code.function, file: code.file, line, evalCall }, frame.address, code));
    }
  }

  private withLocals(frame: PythonFrame, address: bigint, code: CodeInfo): PythonFrame {
    if (!this.limits.locals) return frame;
    const names = (code.localNames ??= this.localNames(code));
    const slots = names.length === 0 ? Buffer.alloc(0) : this.memory.read(address + BigInt(this.layout.locals.frameArray), names.length * PTR);
    const locals: LocalVariable[] = [];
    names.forEach((name, i) => {
      let value: ValueSummary | undefined;
      try {
        value = this.values.describe(slots.readBigUInt64LE(i * PTR));
      } catch (err) {
        value = { type: '?', value: `<unreadable: ${err instanceof Error ? err.message : String(err)}>` };
      }
      if (value) locals.push({ name, ...value });
    });
    return { ...frame, locals };
  }

  /** co_varnames' first co_nlocals names (<= 3.10) or all of co_localsplusnames (3.11+). */
  private localNames(code: CodeInfo): string[] {
    const fields = new Fields(0n, code.header, this.codeSpan.start);
    const l = this.layout.locals;
    const tuple = fields.ptr(l.codeNames);
    const size = Number(this.memory.readI64(tuple + BigInt(this.layout.objects.varSize)));
    const count = Math.min(size, l.codeCount === undefined ? size : fields.i32(l.codeCount), this.limits.maxLocals);
    if (count <= 0) return [];
    const items = this.memory.read(tuple + BigInt(this.layout.objects.tupleItems), count * PTR);
    return Array.from({ length: count }, (_, i) => readText(this.memory, this.layout, items.readBigUInt64LE(i * PTR)));
  }

  /**
   * Frames from `first` through the pointer at `previousOffset`, stopping at
   * NULL, a loop, maxFrames, or a frame another thread's stack holds: no
   * frame is in two threads, and without the check thread states sharing
   * one long chain multiplied the work by the number of threads.
   */
  private *frames(first: bigint, previousOffset: number, thread: PythonThread, owners: Map<bigint, bigint>): Generator<Fields> {
    for (let frame = first, count = 0; frame !== 0n && count < this.limits.maxFrames; count++) {
      const owner = owners.get(frame);
      if (owner !== undefined) {
        if (owner !== thread.threadState) thread.error = `its frames run into thread state 0x${owner.toString(16)}'s at 0x${frame.toString(16)}`;
        return;
      }
      owners.set(frame, thread.threadState);
      const fields = this.struct(frame, this.frameSpan);
      yield fields;
      frame = fields.ptr(previousOffset);
    }
  }

  /**
   * A code object's names and line table, cached by address; undefined when
   * the pointer does not lead to a code object (3.13's shim frames hold None).
   * Code objects are immutable, but a freed one's address can be reused
   * between two reads of a live process: an entry keeps the header bytes it
   * was decoded from, and the one read that fetches them decides whether it
   * still applies.
   */
  private code(address: bigint): CodeInfo | undefined {
    if (address === 0n) return undefined;
    const header = this.memory.read(address + BigInt(this.codeSpan.start), this.codeSpan.length);
    const fields = new Fields(address, header, this.codeSpan.start);
    if (this.symbols.codeType !== undefined && fields.ptr(OB_TYPE) !== this.symbols.codeType) return undefined;
    const cached = this.codes.get(address);
    if (cached && cached.header.equals(header)) return cached;
    const c = this.layout.code;
    const text = (offset: number): string => readText(this.memory, this.layout, fields.ptr(offset));
    const info: CodeInfo = {
      header,
      function: text(c.qualname ?? c.name),
      file: text(c.filename),
      firstLine: fields.i32(c.firstlineno),
      table: readBytes(this.memory, this.layout, fields.ptr(c.linetable)),
    };
    this.codes.set(address, info);
    return info;
  }

  private struct(address: bigint, s: Span): Fields {
    return new Fields(address, this.memory.read(address + BigInt(s.start), s.length), s.start);
  }

  /** A linked list from `first` through the pointer at `nextOffset`, stopping at NULL, a loop or `max` nodes. */
  private *walk(first: bigint, nextOffset: number, max: number): Generator<bigint> {
    const seen = new Set<bigint>();
    for (let node = first; node !== 0n && !seen.has(node) && seen.size < max;) {
      seen.add(node);
      yield node;
      node = this.memory.readPtr(node + BigInt(nextOffset));
    }
  }
}
