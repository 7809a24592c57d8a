/**
 * The stacks probe on a live process: every Python thread's frames, read
 * from /proc/PID/mem without running code in the target (paused briefly
 * unless asked not to), with the native frames gdb sees merged in on
 * request. Returns plain data, ready to save or render. A core file goes
 * through coreStacks.ts, --samples through sampleStacks.ts, and the agent
 * path, which runs code in the target, is agentStacks.ts.
 */
import { performance } from 'node:perf_hooks';
import { LiveMemory } from '../memory/live.js';
import { DEFAULT_PAUSE, withProcessStopped, withProcessStoppedAsync } from '../memory/pause.js';
import { NoLayoutError, readInterpreterSymbols, resolveLayout } from '../cpython/locate.js';
import { layoutFor, type Layout } from '../cpython/layouts.js';
import { pthreadTidOffset } from '../cpython/pthread.js';
import { StackReader, type PythonThread } from '../cpython/stacks.js';
import { mergeStacks, nativeFrame, readBacktraces, type NativeThread } from './native.js';
import type { StacksEvidence } from './stackTypes.js';
import { readSyscalls, readTasks, type Task } from './tasks.js';
import { sortThreads, threadTid, toThreadStack } from './threadStacks.js';
import { readMaps, readStat, targetRootPath, type Mapping } from '../target/proc.js';
import { describePython, type PythonVersion } from '../target/python.js';
import { round3 } from '../util/units.js';

export interface LiveStacksOptions {
  /** Read without stopping the target: no pause, but frames may be torn. */
  nonblocking: boolean;
  /** Read each frame's local variables too (a longer pause). */
  locals?: boolean;
}

export interface NativeOptions {
  /** gdb's time limit. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** What one paused read returns: the Python threads, each task's system call, and gdb's stacks with --native. */
interface RawRead {
  threads: PythonThread[];
  syscalls: Map<number, string | null>;
  native?: NativeThread[];
}

/**
 * A live process opened for reading stacks, once or many times (--samples):
 * the interpreter is located once and code objects stay cached between reads.
 */
export class LiveStacks {
  private warmed = false;

  private constructor(
    readonly pid: number,
    private readonly version: PythonVersion,
    private readonly memory: LiveMemory,
    private readonly layout: Layout,
    private readonly maps: Mapping[],
    private readonly tidOffset: number,
    private readonly reader: StackReader,
    /** The target's start time: the pause checks it so a reused pid is never stopped. */
    private readonly startTicks: number,
  ) {}

  /** Throws NoLayoutError when this version cannot be read from memory (the agent path can). */
  static open(pid: number, options: { locals?: boolean } = {}): LiveStacks {
    const target = describePython(pid);
    const base = layoutFor(target.version);
    if (!base) throw new NoLayoutError(target.version.text);
    const maps = readMaps(pid);
    const symbols = readInterpreterSymbols(target.interpreterElf, maps, target.libpython ?? target.exe, base);
    const memory = LiveMemory.open(pid);
    try {
      const layout = resolveLayout(memory, target.version, symbols);
      const tidOffset = pthreadTidOffset(maps, (p) => targetRootPath(pid, p));
      const reader = new StackReader(memory, layout, symbols, { locals: options.locals ?? false });
      return new LiveStacks(pid, target.version, memory, layout, maps, tidOffset, reader, target.startTicks);
    } catch (err) {
      memory.close();
      throw err;
    }
  }

  close(): void {
    this.memory.close();
  }

  /** One reading from memory alone, paused unless `nonblocking`. */
  read(options: { nonblocking: boolean }): StacksEvidence {
    const tasks = readTasks(this.pid);
    // Before the pause: a blocked thread's system call does not change, and
    // reading one small file per thread would add about 1.5 ms to a 20-thread pause.
    const syscalls = readSyscalls(this.pid, tasks);
    const { nonblocking, warnings } = this.pauseDecision(options.nonblocking);
    const started = performance.now();
    let raw: RawRead;
    let pauseMs = 0;
    let foundStopped = false;
    if (nonblocking) {
      raw = this.rawRead(syscalls);
    } else {
      this.warm();
      const paused = withProcessStopped(this.pid, () => this.rawRead(syscalls), { ...DEFAULT_PAUSE, startTicks: this.startTicks });
      raw = paused.value;
      pauseMs = paused.pauseMs;
      foundStopped = paused.foundStopped;
    }
    return { ...this.evidence(raw, tasks, pauseMs, performance.now() - started, warnings), ...(foundStopped ? { found_stopped: true } : {}) };
  }

  /**
   * One reading with native frames: the target is stopped, its memory read,
   * then gdb attaches to the stopped target, prints every thread's C stack
   * and detaches; only then is the target continued. The pause therefore
   * lasts as long as gdb does.
   */
  async readNative(options: NativeOptions): Promise<StacksEvidence> {
    const tasks = readTasks(this.pid);
    const { nonblocking, warnings } = this.pauseDecision(false);
    const started = performance.now();
    let raw: RawRead;
    let pauseMs = 0;
    let foundStopped = false;
    if (nonblocking) {
      // gdb stops the target with ptrace, which a terminal's shell does not see; memwhy's own read runs just before.
      raw = this.rawRead(readSyscalls(this.pid, tasks));
      raw.native = await readBacktraces(this.pid, options);
      warnings.push('so the native frames come from a moment just after the Python ones');
    } else {
      this.warm();
      // The watchdog outlasts gdb's own time limit and its SIGKILL grace.
      const watchdogSeconds = Math.ceil(options.timeoutMs / 1000) + 10;
      const paused = await withProcessStoppedAsync(
        this.pid,
        async () => {
          // Inside the pause, beside gdb's second or so: the kernel frame tops the same stack gdb unwinds.
          const r = this.rawRead(readSyscalls(this.pid, tasks));
          r.native = await readBacktraces(this.pid, options);
          return r;
        },
        { ...DEFAULT_PAUSE, watchdogSeconds, startTicks: this.startTicks },
      );
      raw = paused.value;
      pauseMs = paused.pauseMs;
      foundStopped = paused.foundStopped;
    }
    return { ...this.evidence(raw, tasks, pauseMs, performance.now() - started, warnings), ...(foundStopped ? { found_stopped: true } : {}) };
  }

  private pauseDecision(nonblocking: boolean): { nonblocking: boolean; warnings: string[] } {
    if (nonblocking || !isForegroundOfTerminal(this.pid)) return { nonblocking, warnings: [] };
    return {
      nonblocking: true,
      warnings: [`pid ${this.pid} is the foreground job of a terminal: stopping it would hand the terminal to its shell, so it was read without pausing (frames may be torn)`],
    };
  }

  /**
   * A first read while the target runs warms the code object cache and the
   * JIT, so the read inside the pause is short. Torn frames there do not
   * matter: only the paused read is reported.
   */
  private warm(): void {
    if (this.warmed) return;
    this.warmed = true;
    try {
      this.reader.threads();
    } catch {
      // The paused read will report what fails.
    }
  }

  private rawRead(syscalls: Map<number, string | null>): RawRead {
    return { threads: this.reader.threads(), syscalls };
  }

  private evidence(raw: RawRead, tasks: Task[], pauseMs: number, readMs: number, warnings: string[]): StacksEvidence {
    const byTid = new Map(tasks.map((t) => [t.tid, t]));
    const known = new Set(byTid.keys());
    const nativeByTid = new Map((raw.native ?? []).map((t) => [t.tid, t]));
    const threads = raw.threads.map((t) => {
      const tid = threadTid(this.memory, this.layout, t, this.tidOffset, known);
      const task = tid === null ? undefined : byTid.get(tid);
      const stack = toThreadStack(t, tid, task?.name ?? null, task?.state ?? 'unknown');
      const syscall = tid === null ? null : (raw.syscalls.get(tid) ?? null);
      stack.cpu_ms = task?.cpuMs ?? null;
      stack.syscall = syscall;
      const native = tid === null ? undefined : nativeByTid.get(tid);
      if (raw.native) {
        if (native) {
          nativeByTid.delete(tid!);
          const merged = mergeStacks(
            { frames: t.frames.map((f, i) => ({ ...stack.frames[i]!, evalCall: f.evalCall })), evalCalls: t.evalCalls },
            native.frames,
            this.version.major,
            this.maps,
            syscall,
          );
          stack.frames = merged.frames;
          if (merged.note) stack.note = merged.note;
        } else {
          stack.note = 'gdb showed no thread with this tid: Python frames only';
        }
      }
      return stack;
    });
    // Threads without a Python thread state: C threads of the program or its libraries.
    for (const n of nativeByTid.values()) {
      const task = byTid.get(n.tid);
      const syscall = raw.syscalls.get(n.tid) ?? null;
      threads.push({
        tid: n.tid,
        name: task?.name ?? n.name,
        holds_gil: false,
        state: task?.state ?? 'unknown',
        cpu_ms: task?.cpuMs ?? null,
        syscall,
        frames: [...(syscall === null ? [] : [{ function: syscall, file: '[kernel]', line: null, kind: 'syscall' as const }]), ...n.frames.map((f) => nativeFrame(f, this.maps))],
        native_only: true,
      });
    }
    return {
      pid: this.pid,
      version: this.version.text,
      source: 'memory',
      native: raw.native !== undefined,
      pause_ms: round3(pauseMs),
      read_ms: round3(readMs),
      warnings,
      threads: sortThreads(threads),
    };
  }
}

/** Stacks of a live process, read once through /proc/PID/mem. */
export function collectStacks(pid: number, options: LiveStacksOptions): StacksEvidence {
  const live = LiveStacks.open(pid, { locals: options.locals });
  try {
    return live.read({ nonblocking: options.nonblocking });
  } finally {
    live.close();
  }
}

/**
 * True when the process is the foreground process group of its controlling
 * terminal (proc(5) stat: tty_nr set and tpgid = pgrp). A shell waiting on a
 * foreground job sees it stop (waitpid WUNTRACED), takes the terminal back
 * and leaves it in the background after SIGCONT: a pause would break the
 * user's session.
 */
function isForegroundOfTerminal(pid: number): boolean {
  const stat = readStat(pid);
  return stat.ttyNr !== 0 && stat.tpgid === stat.pgrp;
}
