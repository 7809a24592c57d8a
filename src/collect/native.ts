/**
 * Native (C) stacks for `memwhy stacks --native`: gdb's `thread apply all bt`
 * on a target memwhy has already stopped, parsed, then merged with the
 * Python frames read from memory at the same stop. Each C call of the eval
 * loop (_PyEval_EvalFrameDefault, 2.7's PyEval_EvalFrameEx) stands for the
 * Python frames it runs; every other C frame stays, marked native.
 */
import { UserError } from '../errors.js';
import { gdbFailure, runGdb } from '../gdb/launch.js';
import type { PythonFrame } from '../cpython/stacks.js';
import type { Mapping } from '../target/proc.js';
import type { StackFrame } from './stackTypes.js';

/** A C frame as gdb prints it. */
export interface NativeFrame {
  /** gdb's name for it: the ELF symbol (or the debug info's, when a library carries it), '??' when none. */
  function: string;
  /** The pc; null only when gdb gives none. */
  address: bigint | null;
  /** Inlined by the compiler into the frame after it: it shares the pc of the frame before it, which gdb prints only there. */
  inlined?: true;
  /** "Python/ceval.c:3013" when the library carries line information. */
  source?: string;
}

export interface NativeThread {
  tid: number;
  name: string | null;
  /** Innermost first. */
  frames: NativeFrame[];
}

export interface BacktraceOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** After SIGTERM (a batch gdb detaches and quits on it), how long before SIGKILL. */
  graceMs?: number;
}

/**
 * gdb's backtraces of every thread of `pid`. The target should be stopped
 * already (memwhy's pause): gdb's attach and detach then leave it stopped,
 * and the frames belong to the same moment as the memory read. On a
 * timeout (GdbTimeout) or an abort (GdbInterrupted) gdb is ended, which
 * detaches it (src/gdb/launch.ts).
 */
export async function readBacktraces(pid: number, options: BacktraceOptions): Promise<NativeThread[]> {
  const run = await runGdb(
    {
      pid,
      purpose: 'for native stacks',
      mode: 'batch',
      settings: [
        // No separate debug files (python3-dbg's take seconds to load): gdb then
        // names frames from the ELF symbols alone. -readnever would be quicker
        // still but gdb 13 then cannot unwind past libc (it skips .eh_frame too).
        'set debug-file-directory /nonexistent',
        'set print frame-arguments none',
      ],
      commands: ['thread apply all bt'],
    },
    { timeoutMs: options.timeoutMs, graceMs: options.graceMs ?? 3000, signal: options.signal, doing: 'print the native stacks' },
  );
  const threads = parseBacktraces(run.stdout);
  if (threads.length > 0) return threads;
  throw new UserError(gdbFailure(pid, run.stderr || run.stdout, run.code, 'printed no native stacks for'));
}

const THREAD = /^Thread \d+ \((?:Thread 0x[0-9a-f]+ \()?(?:LWP|process) (\d+)\)?(?: "(.*)")?\)?:?$/;
const FRAME = /^#\d+\s+(?:(0x[0-9a-f]+) in )?(.+?) \(.*?\)(?: at (\S+:\d+))?(?: from \S+)?$/;

/** The threads and frames in gdb's `thread apply all bt` output; other lines are ignored. */
export function parseBacktraces(text: string): NativeThread[] {
  const threads: NativeThread[] = [];
  let current: NativeThread | undefined;
  for (const line of text.split('\n')) {
    const t = THREAD.exec(line);
    if (t) {
      current = { tid: Number(t[1]), name: t[2] ?? null, frames: [] };
      threads.push(current);
      continue;
    }
    const f = current && FRAME.exec(line);
    if (!current || !f) continue;
    const inlined = f[1] === undefined && current.frames.length > 0;
    current.frames.push({
      function: f[2]!.replace(/@.*$/, ''), // "pthread_cond_timedwait@@GLIBC_2.3.2"
      address: f[1] !== undefined ? BigInt(f[1]) : (current.frames.at(-1)?.address ?? null),
      ...(inlined ? { inlined: true as const } : {}),
      ...(f[3] === undefined ? {} : { source: f[3] }),
    });
  }
  return threads;
}

/** The C function of one call of the eval loop: 2.7's PyEval_EvalFrameEx, 3.x's _PyEval_EvalFrameDefault (3.x's PyEval_EvalFrameEx only wraps it). */
export function isEvalFrame(name: string, major: number): boolean {
  return major === 2 ? name === 'PyEval_EvalFrameEx' : /^_PyEval_EvalFrameDefault(\.cold(\.\d+)?)?$/.test(name);
}

export interface MergedStack {
  frames: StackFrame[];
  /** Why the merge is not exact, when it is not: eval calls gdb saw and the reader did not, or the reverse. */
  note?: string;
}

/**
 * One thread's native frames with its Python frames put in place of the
 * eval loop calls that run them (innermost first on both sides, as py-spy
 * --native does). `syscall` (from /proc/PID/task/TID/syscall) tops the
 * stack when the thread is in one.
 */
export function mergeStacks(
  python: { frames: readonly (StackFrame & Pick<PythonFrame, 'evalCall'>)[]; evalCalls: number },
  native: readonly NativeFrame[],
  major: number,
  maps: readonly Mapping[],
  syscall: string | null,
): MergedStack {
  const byCall = new Map<number, StackFrame[]>();
  for (const { evalCall, ...frame } of python.frames) {
    const list = byCall.get(evalCall) ?? [];
    list.push(frame);
    byCall.set(evalCall, list);
  }
  const out: StackFrame[] = syscall === null ? [] : [{ function: syscall, file: '[kernel]', line: null, kind: 'syscall' }];
  let call = 0;
  for (const f of native) {
    if (isEvalFrame(f.function, major) && call < python.evalCalls) {
      out.push(...(byCall.get(call) ?? []));
      call++;
    } else {
      out.push(nativeFrame(f, maps));
    }
  }
  const evalFrames = native.filter((f) => isEvalFrame(f.function, major)).length;
  const rest = [...byCall.keys()].filter((c) => c >= call).sort((a, b) => a - b);
  for (const c of rest) out.push(...byCall.get(c)!);
  if (evalFrames === python.evalCalls) return { frames: out };
  return {
    frames: out,
    note: `gdb shows ${evalFrames} eval loop call${evalFrames === 1 ? '' : 's'} where memory shows ${python.evalCalls}${rest.length > 0 ? ': the Python frames left over are listed last' : ''}`,
  };
}

/** A native frame as a StackFrame: the file is the mapped object holding the pc. */
export function nativeFrame(f: NativeFrame, maps: readonly Mapping[]): StackFrame {
  const map = f.address === null ? undefined : maps.find((m) => f.address! >= m.start && f.address! < m.end);
  return {
    function: f.function,
    file: map?.path || '?',
    line: null,
    kind: 'native',
    ...(f.address === null ? {} : { address: `0x${f.address.toString(16)}` }),
    ...(f.inlined ? { inlined: true as const } : {}),
    ...(map && f.function === '??' ? { offset: `0x${(f.address! - map.start + map.offset).toString(16)}` } : {}),
    ...(f.source === undefined ? {} : { source: f.source }),
  };
}

/**
 * x86_64 system call numbers of the calls a thread waits in
 * (arch/x86/entry/syscalls/syscall_64.tbl); others show as "syscall N".
 */
const SYSCALLS: Record<number, string> = {
  0: 'read',
  1: 'write',
  7: 'poll',
  23: 'select',
  34: 'pause',
  35: 'nanosleep',
  42: 'connect',
  43: 'accept',
  44: 'sendto',
  45: 'recvfrom',
  46: 'sendmsg',
  47: 'recvmsg',
  61: 'wait4',
  128: 'rt_sigtimedwait',
  130: 'rt_sigsuspend',
  202: 'futex',
  219: 'restart_syscall',
  230: 'clock_nanosleep',
  232: 'epoll_wait',
  247: 'waitid',
  270: 'pselect6',
  271: 'ppoll',
  281: 'epoll_pwait',
  288: 'accept4',
  441: 'epoll_pwait2',
  449: 'futex_waitv',
};

/** The system call a /proc/PID/task/TID/syscall line names; null when the thread is running or not in one. */
export function syscallName(text: string): string | null {
  const first = text.trim().split(' ')[0] ?? '';
  if (!/^\d+$/.test(first)) return null; // "running", or "-1 sp pc" when blocked outside a system call
  const n = Number(first);
  return process.arch === 'x64' ? (SYSCALLS[n] ?? `syscall ${n}`) : `syscall ${n}`;
}
