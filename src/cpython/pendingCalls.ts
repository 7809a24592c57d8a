/**
 * Where each CPython keeps its pending-call queue (Py_AddPendingCall's) and
 * the flag that makes the eval loop look at it, on x86_64 Linux builds. The
 * memory transport (src/attach/memoryTransport.ts) queues a call there
 * through /proc/PID/mem while the target is stopped.
 *
 * Sources: the struct _pending_calls / _ceval_state / _ceval_runtime_state
 * definitions of each release's headers (3.7: Include/internal/ceval.h; 3.8:
 * internal/pycore_pystate.h; 3.9-3.11: internal/pycore_interp.h; 3.12, 3.13:
 * internal/pycore_ceval_state.h, with tstate->eval_breaker in
 * cpython/pystate.h for 3.13), and for 2.7 and 3.6 the statics at the top of
 * Python/ceval.c, which no header declares (found by name in .symtab).
 * test/cpython/pending_probe.c computes every offset below from the
 * installed headers and test/cpython/pendingCalls.test.ts compares them.
 */

/** A field of the queue: its offset in struct _pending_calls, or (2.7, 3.6) the static's symbol. */
export type Field = { offset: number } | { symbol: string };

/** What `lock` is. */
export type LockKind =
  /** PyThread_type_lock: a pointer to a glibc sem_t (Python/thread_pthread.h, USE_SEMAPHORES), value 1 when free; NULL before threads start (2.7, 3.6). */
  | 'semaphore-pointer'
  /** PyMutex (3.13, Include/cpython/lock.h): one byte, bit 0 set while held. */
  | 'pymutex';

/** What tells the eval loop to look at the queue. */
export type Breaker =
  /** An int set to 1 (3.6-3.12: eval_breaker; 3.12 also recomputes it from calls_to_do). */
  | { kind: 'int'; field: Field }
  /** 2.7's _Py_Ticker: counts down to the periodic check; 0 makes the next instruction do it. */
  | { kind: 'ticker'; symbol: string }
  /** 3.13: tstate->eval_breaker, a uintptr_t per thread; set _PY_CALLS_TO_DO_BIT, keep the rest (the instrumentation version lives above bit 8). */
  | { kind: 'tstate-bit'; offset: number; bit: bigint };

/**
 * What a child forked by the agent (src/agent/fork.py) must clear before it
 * runs one bytecode: the GIL drop request another thread may have made while
 * the fork held the GIL (the child, alone, would drop the GIL and wait for
 * good for that thread to take it: FORCE_SWITCHING, Python/ceval_gil.h), and
 * the eval breaker that would send it to look (at signals, pending calls and
 * a scheduled collection too: none of them the child's to run).
 */
export type ForkReset =
  /** 2.7: the old GIL has no drop request. */
  | { kind: 'none' }
  /** 3.6-3.12: eval_breaker and gil_drop_request, two ints, zeroed. */
  | { kind: 'ints'; fields: Field[] }
  /** 3.13: the low byte of the forking thread's tstate->eval_breaker (its flags; the instrumentation version lives above bit 8). */
  | { kind: 'tstate-byte'; offset: number };

/** Where struct _pending_calls is, for the versions that have one. */
export type QueueHome =
  /** Statics in Python/ceval.c (2.7, 3.6): every field is a symbol. */
  | { kind: 'statics' }
  /** _PyRuntime.ceval.pending (3.7, 3.8). */
  | { kind: 'runtime'; ceval: number; pending: number }
  /** interp->ceval.pending of the main interpreter (3.9+). */
  | { kind: 'interpreter'; ceval: number; pending: number };

export interface PendingCallsLayout {
  major: number;
  minor: number;
  home: QueueHome;
  lock: Field;
  lockKind: LockKind;
  /**
   * A field that must be clear before memwhy adds a call: 3.8's `finishing`
   * (the interpreter is shutting down), 3.12's `busy` and 3.13's
   * `handling_thread` (a thread is running the queue). 2.7's `pendingbusy`
   * and 3.6-3.11's function-static `busy` only stop the queue from running
   * inside itself; the lock alone guards the ring, as for Py_AddPendingCall.
   */
  guard?: { field: Field; size: 4 | 8 };
  /** `calls_to_do` (an int flag, set to 1) or 3.13's `npending` (a count, incremented). */
  count: { field: Field; kind: 'flag' | 'counter' };
  calls: Field;
  entrySize: number;
  /** Entries in the ring. */
  capacity: number;
  /** 3.13's `max`: how many calls may be queued at once (the ring itself has room for more). */
  max?: Field;
  /** 3.13's per-entry flags (int): 0, a plain call. */
  entryFlags?: number;
  first: Field;
  /** `last` (3.6-3.12) or `next` (3.13): where the next call goes. */
  last: Field;
  breaker: Breaker;
  /** Fields relative to the ceval state that holds the queue, like `breaker`'s. */
  forkReset: ForkReset;
  /** Which threads run the queue: the main thread only (up to 3.11), or any thread of the interpreter (3.12+, gh-104812). */
  runsOn: 'main-thread' | 'any-thread';
}

const at = (offset: number): Field => ({ offset });
const sym = (symbol: string): Field => ({ symbol });
/** eval_breaker at `offset` of the ceval state, gil_drop_request the int after it (3.7-3.12). */
const intBreaker = (offset: number): { breaker: Breaker; forkReset: ForkReset } => ({
  breaker: { kind: 'int', field: at(offset) },
  forkReset: { kind: 'ints', fields: [at(offset), at(offset + 4)] },
});

/** struct _pending_calls for 3.9-3.11: lock, calls_to_do, async_exc, calls[32], first, last. */
const RING_39 = {
  lock: at(0),
  lockKind: 'semaphore-pointer' as const,
  count: { field: at(8), kind: 'flag' as const },
  calls: at(16),
  entrySize: 16,
  capacity: 32, // NPENDINGCALLS
  first: at(528),
  last: at(532),
  runsOn: 'main-thread' as const,
};

/** 3.7 (main_thread) and 3.8 (finishing) put one 8-byte-aligned field before the lock. */
const RING_37 = { ...RING_39, lock: at(8), count: { field: at(16), kind: 'flag' as const }, calls: at(24), first: at(536), last: at(540) };

export const PENDING_LAYOUTS: readonly PendingCallsLayout[] = [
  {
    major: 2,
    minor: 7,
    home: { kind: 'statics' },
    lock: sym('pending_lock'),
    lockKind: 'semaphore-pointer',
    count: { field: sym('pendingcalls_to_do'), kind: 'flag' },
    calls: sym('pendingcalls'),
    entrySize: 16,
    capacity: 32,
    first: sym('pendingfirst'),
    last: sym('pendinglast'),
    breaker: { kind: 'ticker', symbol: '_Py_Ticker' },
    forkReset: { kind: 'none' },
    runsOn: 'main-thread',
  },
  {
    major: 3,
    minor: 6,
    home: { kind: 'statics' },
    lock: sym('pending_lock'),
    lockKind: 'semaphore-pointer',
    count: { field: sym('pendingcalls_to_do'), kind: 'flag' },
    calls: sym('pendingcalls'),
    entrySize: 16,
    capacity: 32,
    first: sym('pendingfirst'),
    last: sym('pendinglast'),
    breaker: { kind: 'int', field: sym('eval_breaker') },
    forkReset: { kind: 'ints', fields: [sym('eval_breaker'), sym('gil_drop_request')] },
    runsOn: 'main-thread',
  },
  // _ceval_runtime_state: recursion_limit, tracing_possible, eval_breaker, gil_drop_request, pending.
  { major: 3, minor: 7, home: { kind: 'runtime', ceval: 704, pending: 16 }, ...RING_37, ...intBreaker(8) },
  {
    major: 3,
    minor: 8,
    home: { kind: 'runtime', ceval: 584, pending: 16 },
    ...RING_37,
    guard: { field: at(0), size: 4 },
    ...intBreaker(8),
  },
  // bpo-39984 moved the queue into the interpreter: _ceval_state = recursion_limit, tracing_possible (3.9 only), eval_breaker, ...
  { major: 3, minor: 9, home: { kind: 'interpreter', ceval: 64, pending: 16 }, ...RING_39, ...intBreaker(8) },
  { major: 3, minor: 10, home: { kind: 'interpreter', ceval: 64, pending: 16 }, ...RING_39, ...intBreaker(4) },
  { major: 3, minor: 11, home: { kind: 'interpreter', ceval: 96, pending: 16 }, ...RING_39, ...intBreaker(4) },
  {
    // _ceval_state = eval_breaker, gil_drop_request, recursion_limit, gil, own_gil, gc_scheduled, pending{busy, ...}.
    major: 3,
    minor: 12,
    home: { kind: 'interpreter', ceval: 368, pending: 32 },
    ...RING_37,
    guard: { field: at(0), size: 4 },
    ...intBreaker(0),
    runsOn: 'any-thread',
  },
  {
    // _pending_calls = handling_thread, mutex, npending, max, maxloop, calls[300]{func, arg, flags}, first, next.
    major: 3,
    minor: 13,
    home: { kind: 'interpreter', ceval: 0, pending: 32 },
    lock: at(8),
    lockKind: 'pymutex',
    guard: { field: at(0), size: 8 },
    count: { field: at(12), kind: 'counter' },
    max: at(16),
    calls: at(24),
    entrySize: 24,
    entryFlags: 16,
    capacity: 300, // PENDINGCALLSARRAYSIZE
    first: at(7224),
    last: at(7228),
    breaker: { kind: 'tstate-bit', offset: 24, bit: 1n << 2n }, // _PY_CALLS_TO_DO_BIT, pycore_ceval.h
    forkReset: { kind: 'tstate-byte', offset: 24 }, // _PY_GIL_DROP_REQUEST_BIT is bit 0, _PY_EVAL_EVENTS_BITS 8
    runsOn: 'any-thread',
  },
];

export function pendingCallsLayoutFor(version: { major: number; minor: number }): PendingCallsLayout | undefined {
  return PENDING_LAYOUTS.find((l) => l.major === version.major && l.minor === version.minor);
}
