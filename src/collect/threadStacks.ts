/**
 * What the live and the core readers share: a decoded PythonThread made a
 * saveable ThreadStack, with its kernel tid, and the threads in one order.
 */
import type { MemorySource } from '../memory/source.js';
import type { Layout } from '../cpython/layouts.js';
import { tidOfPthread } from '../cpython/pthread.js';
import type { PythonThread } from '../cpython/stacks.js';
import type { ThreadRunState, ThreadStack } from './stackTypes.js';

/** The kernel tid: the thread state's own (3.11+), else glibc's struct pthread behind thread_id. */
export function threadTid(memory: MemorySource, layout: Layout, t: PythonThread, tidOffset: number, known: ReadonlySet<number>): number | null {
  // native_thread_id is written when the thread state is made: a process
  // forked by an embedder that does not call PyOS_AfterFork_Child (a uWSGI
  // worker, forked from the master after Py_Initialize) keeps the parent's
  // tid there. glibc's struct pthread has the child's own tid after fork.
  if (layout.tstate.nativeThreadId !== undefined && t.nativeThreadId !== undefined && known.has(t.nativeThreadId)) return t.nativeThreadId;
  return tidOfPthread(memory, t.threadId, tidOffset, known) ?? (layout.tstate.nativeThreadId !== undefined ? (t.nativeThreadId ?? null) : null);
}

export function toThreadStack(t: PythonThread, tid: number | null, name: string | null, state: ThreadRunState): ThreadStack {
  return {
    tid,
    name,
    holds_gil: t.holdsGil,
    state,
    frames: t.frames.map((f) => ({
      function: f.function,
      file: f.file,
      line: f.line,
      ...(f.locals ? { locals: f.locals.map(({ name, type, value }) => ({ name, type, value })) } : {}),
    })),
    ...(t.error ? { error: t.error } : {}),
  };
}

/** By tid: the main thread (tid = pid) first in practice, and the same order live and from a core. */
export function sortThreads(threads: ThreadStack[]): ThreadStack[] {
  return threads.sort((a, b) => (a.tid ?? Infinity) - (b.tid ?? Infinity));
}
