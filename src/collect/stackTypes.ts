/**
 * What the stacks probe returns: every thread's frames, live, from a core or
 * from the agent. Plain data shared by the readers (liveStacks.ts,
 * coreStacks.ts, native.ts, agentStacks.ts), the analyser (analyze/stuck.ts)
 * and the report; a module of its own so the readers do not import each
 * other for their types.
 */
export interface StackFrame {
  function: string;
  /** The source file; for a native frame, the mapped object holding its pc ('[kernel]' for a system call). */
  file: string;
  /** null where the interpreter's line table gives the instruction no line, and for native frames. */
  line: number | null;
  /** With --locals: each bound local's name, type and short value. */
  locals?: { name: string; type: string; value: string }[];
  /** Absent for a Python frame; with --native, 'native' for a C frame (from gdb) and 'syscall' for the system call the thread is in. */
  kind?: 'native' | 'syscall';
  /** A native frame's pc. */
  address?: string;
  /** A native frame the compiler inlined into the next one (it shares that frame's pc). */
  inlined?: true;
  /** A native frame gdb cannot name: the pc's offset in `file`, for addr2line. */
  offset?: string;
  /** A native frame of an object with line information: "Python/ceval.c:3013". */
  source?: string;
}

/** From /proc/PID/task/TID/stat just before the read: R is running, S and D idle; unknown in a core. */
export type ThreadRunState = 'running' | 'idle' | 'stopped' | 'unknown';

export interface ThreadStack {
  /** Kernel thread id; null when it cannot be told (a pthread id that matches no thread). */
  tid: number | null;
  /** /proc/PID/task/TID/comm; null in a core, which does not record thread names. */
  name: string | null;
  /** The threading.Thread's name: the agent path (source "agent") only. */
  thread_name?: string;
  /** null on the agent path, whose own thread holds the GIL while it looks. */
  holds_gil: boolean | null;
  state: ThreadRunState;
  /** A live thread's time on the CPU so far (ms), read just before the stacks: --samples tells a thread that ran between samples from one that slept. */
  cpu_ms?: number | null;
  /** A live thread's system call at the read (/proc/PID/task/TID/syscall): "futex", "clock_nanosleep"; null when in none. */
  syscall?: string | null;
  /** Innermost first. */
  frames: StackFrame[];
  /** --native: a thread with no Python thread state (a C thread); its frames are all native. */
  native_only?: true;
  /** --native: why the Python and native frames do not line up exactly. */
  note?: string;
  /** Why the frames stop early, when they do. */
  error?: string;
}

/** One reading of every thread, for --samples. */
export interface StackSample {
  /** From the first sample's start. */
  t_ms: number;
  pause_ms: number;
  threads: ThreadStack[];
}

export interface StacksEvidence {
  pid: number;
  version: string;
  /** memory: read from /proc/PID/mem; core: from a core file; agent: sys._current_frames() run in the target. */
  source: 'memory' | 'core' | 'agent';
  /** True when native frames (gdb) are merged in. */
  native: boolean;
  /** How long the target was stopped; 0 with --nonblocking, for a core, or on the agent path. */
  pause_ms: number;
  /** The target was stopped already (job control, a debugger): read as it was, and left stopped. */
  found_stopped?: boolean;
  /** How long reading the stacks took. */
  read_ms: number;
  /** The core file read, for source "core". */
  core?: string;
  /** Things the reader had to do differently, in a sentence each (printed on stderr by the CLI). */
  warnings: string[];
  /** The last (or only) reading. */
  threads: ThreadStack[];
  /** With --samples N: every reading, the last of which is `threads`. */
  samples?: StackSample[];
}
