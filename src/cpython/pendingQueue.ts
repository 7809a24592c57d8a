/**
 * One interpreter's pending-call queue at run-time addresses, and the three
 * things memwhy does to it through memory: look whether a call may be added,
 * add one, take back one that has not run. Every function here expects the
 * target stopped (SIGSTOP) while it writes: the queue's lock cannot be taken
 * from outside, so memwhy checks it is free and writes while no thread runs,
 * in the order Py_AddPendingCall does (entry, index, count, eval breaker).
 */
import type { ElfFile } from '../target/elf.js';
import type { MemorySource } from '../memory/source.js';
import type { MemoryWriter } from '../memory/writer.js';
import type { Layout } from './layouts.js';
import type { InterpreterSymbols } from './locate.js';
import type { Field, PendingCallsLayout } from './pendingCalls.js';

export interface PendingQueue {
  layout: PendingCallsLayout;
  lock: bigint;
  guard?: { address: bigint; size: 4 | 8 };
  count: bigint;
  calls: bigint;
  first: bigint;
  last: bigint;
  max?: bigint;
  /** int eval_breaker (3.6-3.12) or 2.7's _Py_Ticker. */
  breaker?: bigint;
  /**
   * 3.13: where to find the interpreter's thread states, each with its own
   * eval_breaker. Walked while the target is stopped, never earlier: a
   * thread that ended in between would leave a freed thread state.
   */
  threads?: { interp: bigint; headOffset: number; nextOffset: number; breakerOffset: number };
  /**
   * What a forked child clears before it runs Python (src/agent/fork.py):
   * int words at these addresses (3.6-3.12), or the low byte at this offset
   * of the forking thread's own thread state (3.13). Absent on 2.7, which
   * has no drop request, and where a static could not be found.
   */
  forkReset?: { words: bigint[] } | { tstateByte: number };
}

/** Why a call cannot be added right now; `busy` passes in a moment, the others do not. */
export type QueueState = { kind: 'free'; first: number; last: number; count: number } | { kind: 'busy'; why: string } | { kind: 'full' } | { kind: 'finishing' };

export class QueueNotFound extends Error {}

/**
 * The queue's addresses. `symbolAt` gives a symbol's run-time address (load
 * bias applied); `stacks` is the stack reader's layout for the interpreter
 * and thread lists.
 */
export function locatePendingQueue(
  memory: MemorySource,
  layout: PendingCallsLayout,
  stacks: Layout,
  symbols: InterpreterSymbols,
  symbolAt: (name: string) => bigint | undefined,
): PendingQueue {
  let base = 0n;
  let interp: bigint | undefined;
  if (layout.home.kind !== 'statics') {
    if (symbols.runtime === undefined) throw new QueueNotFound('no _PyRuntime symbol');
    if (layout.home.kind === 'runtime') {
      base = symbols.runtime + BigInt(layout.home.ceval + layout.home.pending);
    } else {
      if (stacks.head.kind !== 'runtime') throw new QueueNotFound('no interpreter list in _PyRuntime');
      interp = mainInterpreter(memory, symbols.runtime + BigInt(stacks.head.offset), stacks.interp.next);
      base = interp + BigInt(layout.home.ceval + layout.home.pending);
    }
  }
  const addr = (f: Field): bigint => {
    if ('offset' in f) return base + BigInt(f.offset);
    const a = symbolAt(f.symbol);
    if (a === undefined) throw new QueueNotFound(`no ${f.symbol} symbol (the binary is stripped of its static symbols)`);
    return a;
  };
  const queue: PendingQueue = {
    layout,
    lock: addr(layout.lock),
    guard: layout.guard && { address: addr(layout.guard.field), size: layout.guard.size },
    count: addr(layout.count.field),
    calls: addr(layout.calls),
    first: addr(layout.first),
    last: addr(layout.last),
    max: layout.max && addr(layout.max),
  };
  // A field of the ceval state that holds the queue (before the queue), or a static.
  const cevalField = (f: Field): bigint | undefined =>
    'offset' in f ? (layout.home.kind === 'statics' ? undefined : base - BigInt(layout.home.pending) + BigInt(f.offset)) : symbolAt(f.symbol);
  const b = layout.breaker;
  if (b.kind === 'ticker') {
    queue.breaker = symbolAt(b.symbol);
    if (queue.breaker === undefined) throw new QueueNotFound(`no ${b.symbol} symbol`);
  } else if (b.kind === 'int') {
    queue.breaker = cevalField(b.field);
    if (queue.breaker === undefined) throw new QueueNotFound(`no ${'symbol' in b.field ? b.field.symbol : 'eval_breaker'} symbol`);
  } else if (interp !== undefined) {
    queue.threads = { interp, headOffset: stacks.interp.threadsHead, nextOffset: stacks.tstate.next, breakerOffset: b.offset };
  }
  const reset = layout.forkReset;
  if (reset.kind === 'tstate-byte') {
    queue.forkReset = { tstateByte: reset.offset };
  } else if (reset.kind === 'ints') {
    const words = reset.fields.map(cevalField);
    if (words.every((w) => w !== undefined)) queue.forkReset = { words: words as bigint[] };
  }
  return queue;
}

/** The first interpreter made (the main one) is the tail of the list: new ones are pushed at the head. */
function mainInterpreter(memory: MemorySource, headAddress: bigint, nextOffset: number): bigint {
  let interp = memory.readPtr(headAddress);
  if (interp === 0n) throw new QueueNotFound('no interpreter yet (the target is starting or shutting down)');
  for (let hops = 0; hops < 1024; hops++) {
    const next = memory.readPtr(interp + BigInt(nextOffset));
    if (next === 0n) return interp;
    interp = next;
  }
  throw new QueueNotFound('the interpreter list does not end');
}

/** The eval_breaker of every thread state of the interpreter (3.13), read now. */
function threadBreakers(memory: MemorySource, q: PendingQueue): bigint[] {
  const th = q.threads;
  if (!th) return [];
  const out: bigint[] = [];
  let t = memory.readPtr(th.interp + BigInt(th.headOffset));
  while (t !== 0n && out.length < 100_000) {
    out.push(t + BigInt(th.breakerOffset));
    t = memory.readPtr(t + BigInt(th.nextOffset));
  }
  return out;
}

/** Where the next call goes and whether one may go there (the target must be stopped). */
export function queueState(memory: MemorySource, q: PendingQueue): QueueState {
  const l = q.layout;
  if (q.guard) {
    const v = q.guard.size === 8 ? memory.readU64(q.guard.address) : BigInt(memory.readU32(q.guard.address));
    if (v !== 0n) {
      if (l.major === 3 && l.minor === 8) return { kind: 'finishing' };
      return { kind: 'busy', why: 'a thread is running the queued calls' };
    }
  }
  if (l.lockKind === 'pymutex') {
    if ((memory.readU8(q.lock) & 1) !== 0) return { kind: 'busy', why: 'the queue is locked' };
  } else {
    const sem = memory.readPtr(q.lock);
    // glibc's struct new_sem on x86_64: a 64-bit word whose low 32 bits are the value (1: free).
    if (sem !== 0n && memory.readU32(sem) === 0) return { kind: 'busy', why: 'the queue is locked' };
  }
  const first = memory.readI32(q.first);
  const last = memory.readI32(q.last);
  const count = memory.readI32(q.count);
  if (first < 0 || first >= l.capacity || last < 0 || last >= l.capacity) {
    throw new QueueNotFound(`the queue's indexes read ${first} and ${last}, outside 0-${l.capacity - 1}: the layout does not fit this build`);
  }
  if (l.count.kind === 'counter') {
    const max = q.max === undefined ? l.capacity : memory.readI32(q.max);
    if (count >= max) return { kind: 'full' };
  } else if ((last + 1) % l.capacity === first) {
    return { kind: 'full' };
  }
  return { kind: 'free', first, last, count };
}

/** Adds {func, arg} at `state.last`; returns the entry's index. */
export function enqueue(memory: MemorySource, writer: MemoryWriter, q: PendingQueue, state: { last: number; count: number }, func: bigint, arg: bigint): number {
  const l = q.layout;
  const i = state.last;
  const entry = q.calls + BigInt(i * l.entrySize);
  const bytes = Buffer.alloc(l.entrySize);
  bytes.writeBigUInt64LE(func, 0);
  bytes.writeBigUInt64LE(arg, 8);
  // 3.13's flags (an int after arg) stay 0: a plain call, arg not freed.
  writer.write(entry, bytes);
  writer.writeU32(q.last, (i + 1) % l.capacity);
  writer.writeU32(q.count, l.count.kind === 'counter' ? state.count + 1 : 1);
  if (l.breaker.kind === 'ticker') {
    writer.writeU32(q.breaker!, 0);
  } else if (l.breaker.kind === 'int') {
    writer.writeU32(q.breaker!, 1);
  } else {
    // Every thread: whichever runs bytecode first runs the call. A thread
    // that finds the queue empty clears its own bit again (3.13's
    // make_pending_calls), and a thread taking the GIL sets the bit itself
    // while npending is non-zero.
    for (const t of threadBreakers(memory, q)) writer.writeU64(t, memory.readU64(t) | l.breaker.bit);
  }
  return i;
}

/** True while the entry at `index` is still waiting to run. */
export function stillQueued(memory: MemorySource, q: PendingQueue, index: number): boolean {
  const cap = q.layout.capacity;
  const first = memory.readI32(q.first);
  const last = memory.readI32(q.last);
  return (index - first + cap) % cap < (last - first + cap) % cap;
}

/**
 * Takes back an entry that has not run (the target stopped): the tail
 * entry is removed; one with calls queued after it is made harmless instead
 * (`harmless` is a function that returns 0 for a NULL argument), since the
 * ring cannot have a hole. eval_breaker is left set: it may be set for other
 * reasons too (a signal), and a spurious one costs one look at the flags.
 */
export function withdraw(memory: MemorySource, writer: MemoryWriter, q: PendingQueue, index: number, harmless: bigint): 'removed' | 'neutralised' | 'already-ran' {
  if (!stillQueued(memory, q, index)) return 'already-ran';
  const l = q.layout;
  const last = memory.readI32(q.last);
  if ((index + 1) % l.capacity === last) {
    writer.writeU32(q.last, index);
    if (l.count.kind === 'counter') {
      writer.writeU32(q.count, Math.max(0, memory.readI32(q.count) - 1));
    } else if (memory.readI32(q.first) === index) {
      writer.writeU32(q.count, 0);
    }
    return 'removed';
  }
  const entry = q.calls + BigInt(index * l.entrySize);
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64LE(harmless, 0);
  writer.write(entry, bytes);
  return 'neutralised';
}

/** Symbol lookup with the load bias applied. */
export function symbolLookup(elf: ElfFile, bias: bigint): (name: string) => bigint | undefined {
  return (name) => {
    const s = elf.symbol(name);
    return s && s.value + bias;
  };
}
