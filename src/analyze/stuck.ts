/**
 * Deadlock hints from stacks: which threads wait to acquire a lock (read
 * off their innermost frames), and, over several samples, which are stuck
 * (the same stack and asleep at every sample) rather than busy (the stack
 * changes, or the thread was running). Pure: samples in, one finding per
 * thread out, and one verdict from the findings.
 */
import { basename } from 'node:path';
import type { StackFrame, StackSample, ThreadStack } from '../collect/stackTypes.js';
import { formatMsOnly, formatMsWhole, round3 } from '../util/units.js';

/** What a thread waits for, from its innermost frames. */
export interface Wait {
  /**
   * lock: acquiring a lock (a lock's acquire, the native lock functions);
   * wait: waiting in threading/queue for another thread (Condition.wait,
   * join, Queue.get); gil: waiting to take the GIL back (native frames
   * only; not a hint of a deadlock).
   */
  kind: 'lock' | 'wait' | 'gil';
  /** The function that says so: "Condition.wait (threading.py:320)", "PyThread_acquire_lock_timed". */
  where: string;
  seen_in: 'python' | 'native';
}

/** stuck: the same stack and asleep at every sample, next to no CPU time; busy: the stack changed or it ran; unknown: one sample, or states that cannot tell. */
export type Activity = 'stuck' | 'busy' | 'unknown';

export interface ThreadFinding {
  signal: 'thread-blocked';
  /** issue: stuck, or (one sample) waiting for a lock or another thread; none: busy or free; insufficient-data: one sample and no wait. */
  status: 'issue' | 'none' | 'insufficient-data';
  tid: number | null;
  /** The threading name where known, else the OS name. */
  name: string | null;
  /** In the last sample; null when the frames show no wait. */
  wait: Wait | null;
  activity: Activity;
  summary: string;
  numbers: {
    samples: number;
    /** Samples whose stack equals the first one's. */
    same_stack: number;
    /** Samples in which the thread was running (state R). */
    running: number;
    /** From the thread's first sample to its last. */
    span_ms: number;
    /** Time on the CPU from the first sample to the last; null when the kernel does not say. */
    cpu_ms: number | null;
  };
}

export interface StuckVerdict {
  status: 'issue' | 'none' | 'insufficient-data';
  summary: string;
  /** The tids of threads stuck acquiring locks, when two or more are: a likely deadlock. */
  deadlocked: (number | null)[];
}

/**
 * A thread that spent this share of the span on the CPU ran between samples,
 * however still it looked at each: a thread of several contending for the
 * GIL sleeps in futex at most samples with the same stack. Measured
 * (Debian 3.11, 3 samples over 630 ms): deadlocked threads 0.05-0.34 ms,
 * up to 1 ms more per --native sample (gdb's ptrace stops); a
 * time.sleep(0.05) loop 0.6 ms; each of 8 threads churning objects under
 * one GIL 40-110 ms. The floor keeps short spans from calling 1 ms busy.
 */
export const BUSY_CPU_SHARE = 0.01;
export const BUSY_CPU_MIN_MS = 2;

/** threading and queue functions a thread sits in while it waits for another (last part of the qualified name). */
const PYTHON_WAITS: Record<string, { lock: string[]; wait: string[] }> = {
  'threading.py': { lock: ['acquire', '__enter__'], wait: ['wait', 'wait_for', 'join', '_wait_for_tstate_lock'] },
  'queue.py': { lock: [], wait: ['get', 'put', 'join'] },
  'Queue.py': { lock: [], wait: ['get', 'put', 'join'] }, // Python 2
};

/**
 * C functions of a lock acquire: CPython's (Python/thread_pthread.h,
 * Modules/_threadmodule.c, 3.13's Python/lock.c and parking_lot.c) and
 * glibc's. GIL functions (Python/ceval_gil.c, pystate.c) name a thread
 * taking the GIL back; whichever is innermost decides.
 */
const NATIVE_LOCK =
  /^(PyThread_acquire_lock(_timed)?(_with_retries)?|lock_PyThread_acquire_lock|rlock_acquire|acquire_timed|_PyMutex_Lock\w*|PyMutex_Lock|_PyParkingLot_Park|_PySemaphore_Wait|_?PyEvent_Wait\w*|sem_(timed|clock)?wait|__new_sem_wait\w*|pthread_mutex_(timed|clock)?lock|__pthread_mutex_lock\w*|__lll_lock_wait\w*|pthread_rwlock_\w*lock)$/;
const NATIVE_GIL = /^(take_gil|PyEval_RestoreThread|PyEval_AcquireThread|PyEval_AcquireLock|PyGILState_Ensure|_PyThreadState_Attach|PyEval_RestoreThread\.cold)$/;
/** A condition variable wait with neither a lock nor a GIL function inside the native frames: the GIL's (take_gil is static and, stripped, nameless). */
const COND_WAIT = /^pthread_cond_(timed|clock)?wait$/;

/**
 * What the innermost frames of one reading say the thread waits for: a
 * threading or queue function as the innermost Python frame says most (a
 * Condition.wait is a lock acquire underneath), else the native frames
 * inside it, innermost first.
 */
export function waitOf(thread: Pick<ThreadStack, 'frames'>): Wait | null {
  const firstPython = thread.frames.findIndex((f) => f.kind === undefined);
  const py = firstPython === -1 ? undefined : thread.frames[firstPython]!;
  if (py) {
    const known = PYTHON_WAITS[basename(py.file)];
    const fn = py.function.split('.').pop() ?? py.function;
    const where = `${py.function} (${basename(py.file)}:${py.line ?? '?'})`;
    if (known?.lock.includes(fn)) return { kind: 'lock', where, seen_in: 'python' };
    if (known?.wait.includes(fn)) return { kind: 'wait', where, seen_in: 'python' };
  }
  const native = thread.frames.slice(0, firstPython === -1 ? thread.frames.length : firstPython).filter((f) => f.kind === 'native');
  let condWait = false;
  for (const f of native) {
    const name = f.function.replace(/@.*$/, ''); // "pthread_cond_timedwait@@GLIBC_2.3.2"
    if (NATIVE_LOCK.test(name)) return { kind: 'lock', where: name, seen_in: 'native' };
    if (NATIVE_GIL.test(name)) return { kind: 'gil', where: name, seen_in: 'native' };
    if (COND_WAIT.test(name)) condWait = true;
  }
  return condWait ? { kind: 'gil', where: 'pthread_cond_timedwait', seen_in: 'native' } : null;
}

/**
 * How the caller takes more samples, as the user would type it ("--samples 3",
 * worded by the command from its option table), for the summaries that ask
 * for them; without it they say "more samples".
 */
export type MoreSamples = string | undefined;

/** One finding per thread of the last sample, from every sample it appears in. */
export function threadFindings(samples: readonly StackSample[], moreSamples?: MoreSamples): ThreadFinding[] {
  const last = samples.at(-1);
  if (!last) return [];
  const history = new Map<string, { t: number; thread: ThreadStack }[]>();
  for (const s of samples) {
    s.threads.forEach((thread, i) => {
      const key = threadKey(thread, i);
      const list = history.get(key) ?? [];
      list.push({ t: s.t_ms, thread });
      history.set(key, list);
    });
  }
  return last.threads
    .map((thread, i) => ({ thread, seen: history.get(threadKey(thread, i))! }))
    .filter(({ thread }) => !thread.native_only)
    .map(({ thread, seen }) => finding(thread, seen, moreSamples));
}

function finding(thread: ThreadStack, seen: { t: number; thread: ThreadStack }[], moreSamples: MoreSamples): ThreadFinding {
  const wait = waitOf(thread);
  const first = stackKey(seen[0]!.thread.frames);
  const sameStack = seen.filter((s) => stackKey(s.thread.frames) === first).length;
  const running = seen.filter((s) => s.thread.state === 'running').length;
  const spanMs = round3(seen.at(-1)!.t - seen[0]!.t);
  const cpu = [seen[0]!.thread.cpu_ms, seen.at(-1)!.thread.cpu_ms];
  const cpuMs = cpu[0] == null || cpu[1] == null ? null : round3(cpu[1] - cpu[0]);
  const numbers = { samples: seen.length, same_stack: sameStack, running, span_ms: spanMs, cpu_ms: cpuMs };
  let activity: Activity = 'unknown';
  if (seen.length >= 2) {
    // With its CPU time known, a thread that kept its stack and spent next
    // to none did not run, whatever state one sample caught: a wait that the
    // sampler's own attach interrupted restarts, and on a loaded machine it
    // sits runnable ('R') until it gets a CPU back (seen: a consumer in
    // queue.get() "running in 1 of 3 samples" with 0.24 ms of CPU in 442 ms).
    const cpuKnown = numbers.cpu_ms !== null;
    if (sameStack < seen.length || ranBetween(numbers) || (!cpuKnown && running > 0)) activity = 'busy';
    else if (cpuKnown || seen.every((s) => s.thread.state === 'idle')) activity = 'stuck';
  }
  const blocking = wait !== null && wait.kind !== 'gil';
  const status: ThreadFinding['status'] = activity === 'stuck' || (blocking && activity === 'unknown') ? 'issue' : activity === 'busy' || seen.length >= 2 ? 'none' : 'insufficient-data';
  return {
    signal: 'thread-blocked',
    status,
    tid: thread.tid,
    name: thread.thread_name ?? thread.name,
    wait,
    activity,
    summary: summarize(thread, wait, activity, numbers, moreSamples),
    numbers,
  };
}

function ranBetween(n: ThreadFinding['numbers']): boolean {
  return n.cpu_ms !== null && n.cpu_ms >= Math.max(BUSY_CPU_MIN_MS, BUSY_CPU_SHARE * n.span_ms);
}

function summarize(thread: ThreadStack, wait: Wait | null, activity: Activity, n: ThreadFinding['numbers'], moreSamples: MoreSamples): string {
  const parts: string[] = [];
  if (wait) {
    const what = wait.kind === 'lock' ? 'acquiring a lock' : wait.kind === 'wait' ? 'waiting for another thread' : 'waiting to take the GIL';
    const under = wait.seen_in === 'native' ? innermostPython(thread.frames) : undefined;
    parts.push(`${what} in ${wait.where}${under ? `, called from ${under}` : ''}`);
  }
  const over = `${n.samples} samples over ${formatMsWhole(n.span_ms)}`;
  const asleep = thread.syscall ? `asleep in ${thread.syscall}` : 'asleep';
  const cpu = n.cpu_ms === null ? '' : `, ${formatMsOnly(n.cpu_ms)} on the CPU`;
  if (activity === 'stuck') parts.push(`stuck: the same stack in all ${over}, ${n.running > 0 ? `${asleep} or waiting for a CPU` : `${asleep} each time`}${cpu}`);
  else if (activity === 'busy') {
    parts.push(
      n.running > 0
        ? `busy: running in ${n.running} of ${over}`
        : n.same_stack < n.samples
          ? `busy: the stack changed in ${n.samples - n.same_stack} of ${over}`
          : `busy: ${formatMsOnly(n.cpu_ms!)} on the CPU between ${over}, though asleep at each`,
    );
  } else if (n.samples < 2) parts.push(`one sample: ${moreSamples ? `${moreSamples} tells` : 'more samples tell'} stuck from busy`);
  return parts.join('; ');
}

function innermostPython(frames: readonly StackFrame[]): string | undefined {
  const f = frames.find((x) => x.kind === undefined);
  return f && `${f.function} (${basename(f.file)}:${f.line ?? '?'})`;
}

/**
 * The verdict: two or more threads stuck acquiring locks (or, from one
 * sample, waiting for them) is a likely deadlock; otherwise how many
 * threads are flagged.
 */
export function stuckVerdict(findings: readonly ThreadFinding[], moreSamples?: MoreSamples): StuckVerdict {
  const flagged = findings.filter((f) => f.status === 'issue');
  const onLocks = flagged.filter((f) => f.wait?.kind === 'lock');
  const label = (fs: readonly ThreadFinding[]): string => fs.map((f) => f.name ?? String(f.tid ?? '?')).join(', ');
  const sampled = findings.some((f) => f.numbers.samples >= 2);
  if (onLocks.length >= 2) {
    const stuck = onLocks.filter((f) => f.activity === 'stuck');
    return {
      status: 'issue',
      summary:
        stuck.length >= 2
          ? `${stuck.length} threads stuck acquiring locks (${label(stuck)}): a likely deadlock`
          : `${onLocks.length} threads waiting to acquire locks (${label(onLocks)}): take ${moreSamples ?? 'more samples'} to see whether they stay so`,
      deadlocked: (stuck.length >= 2 ? stuck : []).map((f) => f.tid),
    };
  }
  if (flagged.length > 0) {
    const stuck = flagged.filter((f) => f.activity === 'stuck');
    const summary =
      stuck.length > 0
        ? `${stuck.length} thread${stuck.length === 1 ? '' : 's'} stuck (${label(stuck)})`
        : `${flagged.length} thread${flagged.length === 1 ? '' : 's'} waiting (${label(flagged)})`;
    return { status: 'issue', summary, deadlocked: [] };
  }
  if (!sampled)
    return {
      status: 'insufficient-data',
      summary: `no thread waits for a lock (one sample: ${moreSamples ? `${moreSamples} tells` : 'more samples tell'} stuck threads from busy ones)`,
      deadlocked: [],
    };
  return { status: 'none', summary: 'no thread is stuck: every thread ran or moved between samples, or waits for nothing', deadlocked: [] };
}

/** A thread across samples: by tid, else by name and position. */
function threadKey(t: ThreadStack, index: number): string {
  return t.tid !== null ? `tid:${t.tid}` : `name:${t.thread_name ?? t.name ?? ''}:${index}`;
}

/** Frames that compare equal between samples: native ones by function and object (their pc can move within a wait). */
function stackKey(frames: readonly StackFrame[]): string {
  return frames.map((f) => (f.kind === undefined ? `${f.function}|${f.file}|${f.line}` : `${f.kind}|${f.function}|${f.file}`)).join('\n');
}
