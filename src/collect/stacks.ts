/**
 * The stacks probe: every Python thread's frames, read from memory without
 * running code in the target, from a live process (paused briefly unless
 * asked not to) or a core file, with the native frames gdb sees merged in
 * on request. Returns plain data, ready to save or render. (The agent path,
 * which runs code in the target, is in agentStacks.ts.)
 */
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UserError } from '../errors.js';
import { CoreMemory } from '../memory/core.js';
import { LiveMemory } from '../memory/live.js';
import { DEFAULT_PAUSE, withProcessStopped, withProcessStoppedAsync } from '../memory/pause.js';
import type { MemorySource } from '../memory/source.js';
import { findInterpreterSymbols, NoLayoutError, resolveLayout, type InterpreterSymbols } from '../cpython/locate.js';
import { layoutFor, type Layout } from '../cpython/layouts.js';
import { pthreadTidOffset, tidOfPthread } from '../cpython/pthread.js';
import { StackReader, type PythonThread } from '../cpython/stacks.js';
import { CoreInterpreterError } from './coreInterpreter.js';
import { mergeStacks, nativeFrame, readBacktraces, syscallName, type NativeThread } from './native.js';
import type { StackSample, StacksEvidence, ThreadRunState, ThreadStack } from './stackTypes.js';
import { ElfFile, loadBias } from '../target/elf.js';
import {
  readMaps,
  readStat,
  readTaskCpuMs,
  readTaskIds,
  readTaskName,
  readTaskStat,
  readTaskSyscall,
  targetRootPath,
  type Mapping,
} from '../target/proc.js';
import {
  classifyImplementation,
  describePython,
  versionFromExe,
  versionFromHex,
  versionFromLibpython,
  type PythonVersion,
} from '../target/python.js';
import { sleep } from '../util/sleep.js';

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

export interface Task {
  tid: number;
  name: string;
  state: ThreadRunState;
  /** Time on the CPU so far, in ms; null when the kernel does not say. */
  cpuMs: number | null;
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
    const symbols = readSymbols(target.interpreterElf, maps, target.libpython ?? target.exe, base);
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
      warnings: [
        `pid ${this.pid} is the foreground job of a terminal: stopping it would hand the terminal to its shell, so it was read without pausing (frames may be torn)`,
      ],
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
        frames: [
          ...(syscall === null ? [] : [{ function: syscall, file: '[kernel]', line: null, kind: 'syscall' as const }]),
          ...n.frames.map((f) => nativeFrame(f, this.maps)),
        ],
        native_only: true,
      });
    }
    return {
      pid: this.pid,
      version: this.version.text,
      source: 'memory',
      native: raw.native !== undefined,
      pause_ms: round(pauseMs),
      read_ms: round(readMs),
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
 * `count` readings `everyMs` apart (start to start; a reading that takes
 * longer is followed at once): the last reading, carrying every sample.
 */
export async function sampleStacks(
  take: () => Promise<StacksEvidence>,
  count: number,
  everyMs: number,
  signal?: AbortSignal,
): Promise<StacksEvidence> {
  const samples: StackSample[] = [];
  const first = performance.now();
  let last: StacksEvidence | undefined;
  for (let i = 0; i < count; i++) {
    if (i > 0 && !(await sleep(first + i * everyMs - performance.now(), signal))) throw new UserError('interrupted', 130);
    const t = performance.now() - first;
    last = await take();
    samples.push({ t_ms: round(t), pause_ms: last.pause_ms, threads: last.threads });
  }
  if (!last) throw new Error('sampleStacks needs a count of at least 1');
  return count === 1 ? last : { ...last, samples };
}

/** Each task's system call, read inside the pause: cheap (one small /proc file per thread). */
export function readSyscalls(pid: number, tasks: readonly { tid: number }[]): Map<number, string | null> {
  const out = new Map<number, string | null>();
  for (const { tid } of tasks) {
    const line = readTaskSyscall(pid, tid);
    // Exited, or not allowed: no system call to show.
    out.set(tid, line === undefined ? null : syscallName(line));
  }
  return out;
}

export interface CoreStacksOptions {
  /** The interpreter ELF (python executable or libpython) to take symbols from, when the core's path does not reach it. */
  exe?: string;
  locals?: boolean;
}

/** Stacks from a core file: the same reader over the core's memory. */
export function collectCoreStacks(corePath: string, options: CoreStacksOptions = {}): StacksEvidence {
  const core = CoreMemory.open(corePath);
  try {
    const maps = core.mappings();
    const { elfPath, mappedPath } = interpreterInCore(core, maps, options.exe);
    const version = coreVersion(elfPath, mappedPath);
    const base = layoutFor(version);
    if (!base) throw new NoLayoutError(version.text);
    const symbols = readSymbols(elfPath, maps, mappedPath, base);
    const layout = resolveLayout(core, version, symbols);
    const tidOffset = pthreadTidOffset(maps, (p) => p);
    const started = performance.now();
    const threads = new StackReader(core, layout, symbols, { locals: options.locals ?? false }).threads();
    const readMs = performance.now() - started;
    const known = new Set(core.threads);
    return {
      pid: core.pid,
      version: version.text,
      source: 'core',
      pause_ms: 0,
      read_ms: round(readMs),
      core: corePath,
      native: false,
      warnings: [],
      threads: sortThreads(threads.map((t) => toThreadStack(t, threadTid(core, layout, t, tidOffset, known), null, 'unknown'))),
    };
  } finally {
    core.close();
  }
}

function readSymbols(elfPath: string, maps: Mapping[], mappedPath: string, layout: Layout): InterpreterSymbols {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(elfPath);
  } catch (err) {
    throw new UserError(`cannot read the interpreter ${elfPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return findInterpreterSymbols(elf, loadBias(elf, maps, mappedPath), layout);
  } finally {
    elf.close();
  }
}

/** The kernel tid: the thread state's own (3.11+), else glibc's struct pthread behind thread_id. */
function threadTid(memory: MemorySource, layout: Layout, t: PythonThread, tidOffset: number, known: ReadonlySet<number>): number | null {
  // native_thread_id is written when the thread state is made: a process
  // forked by an embedder that does not call PyOS_AfterFork_Child (a uWSGI
  // worker, forked from the master after Py_Initialize) keeps the parent's
  // tid there. glibc's struct pthread has the child's own tid after fork.
  if (layout.tstate.nativeThreadId !== undefined && t.nativeThreadId !== undefined && known.has(t.nativeThreadId)) return t.nativeThreadId;
  return tidOfPthread(memory, t.threadId, tidOffset, known) ?? (layout.tstate.nativeThreadId !== undefined ? (t.nativeThreadId ?? null) : null);
}

function toThreadStack(t: PythonThread, tid: number | null, name: string | null, state: ThreadRunState): ThreadStack {
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
function sortThreads(threads: ThreadStack[]): ThreadStack[] {
  return threads.sort((a, b) => (a.tid ?? Infinity) - (b.tid ?? Infinity));
}

/** Every task (thread) of `pid` with its name, run state and time on the CPU. */
export function readTasks(pid: number): Task[] {
  const tasks: Task[] = [];
  for (const tid of readTaskIds(pid)) {
    const stat = readTaskStat(pid, tid);
    const name = readTaskName(pid, tid);
    // Either undefined: the thread exited since the listing.
    if (stat && name !== undefined) tasks.push({ tid, name, state: runState(stat.state), cpuMs: readTaskCpuMs(pid, tid, stat) });
  }
  return tasks;
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

/** proc(5) states: R running, S sleeping, D disk sleep, I idle kernel thread, T/t stopped. */
function runState(code: string): ThreadRunState {
  if (code === 'R') return 'running';
  if (code === 'S' || code === 'D' || code === 'I') return 'idle';
  if (code === 'T' || code === 't') return 'stopped';
  return 'unknown';
}

/**
 * The ELF with the interpreter's symbols among a core's mapped files:
 * libpython when mapped, else the first file that defines
 * PyInterpreterState_Head (every CPython exports it).
 */
function interpreterInCore(core: CoreMemory, maps: Mapping[], exe: string | undefined): { elfPath: string; mappedPath: string } {
  const paths = [...new Set(maps.map((m) => m.path).filter((p) => p.startsWith('/')))];
  const libpython = classifyImplementation('', paths)?.library;
  if (exe !== undefined) {
    // The symbols are in libpython when the process mapped one, else in the executable.
    const wanted = libpython ?? paths.find((p) => basename(p) === basename(exe));
    if (!wanted || basename(wanted) !== basename(exe)) {
      if (libpython) throw new CoreInterpreterError(`${core.path} does not map ${basename(exe)}: the interpreter is ${libpython}`, 'library-copy');
      throw new UserError(`${core.path} does not map ${basename(exe)}: it maps ${paths.slice(0, 3).join(', ')}, ...`);
    }
    checkSameImage(core, maps, wanted, exe);
    return { elfPath: exe, mappedPath: wanted };
  }
  if (libpython) return { elfPath: libpython, mappedPath: libpython };
  for (const path of paths) {
    let elf: ElfFile | undefined;
    try {
      elf = ElfFile.open(path);
      if (elf.symbol('PyInterpreterState_Head')) return { elfPath: path, mappedPath: path };
    } catch {
      // Unreadable here or not ELF: not the interpreter we can use.
    } finally {
      elf?.close();
    }
  }
  throw new CoreInterpreterError(`${core.path} is not a core of a CPython process memwhy can read here: no mapped file defines the interpreter`, 'python-it-ran');
}

/**
 * Refuses an --exe that is not the file the process mapped: its ELF header
 * and program headers must equal those in the core's memory (a different
 * build or version differs there), else every offset would be wrong.
 */
function checkSameImage(core: CoreMemory, maps: Mapping[], mappedPath: string, localPath: string): void {
  const start = maps.filter((m) => m.path === mappedPath && m.offset === 0n)[0]?.start;
  if (start === undefined) return;
  let elf: ElfFile;
  try {
    elf = ElfFile.open(localPath);
  } catch (err) {
    throw new UserError(`cannot read ${localPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let local: Buffer;
  try {
    const header = elf.readAt(elf.segments().find((s) => s.offset === 0n)?.vaddr ?? 0n, 64);
    const phEnd = Number(header.readBigUInt64LE(32)) + header.readUInt16LE(54) * header.readUInt16LE(56);
    // The headers of a real ELF end within its first page or so; a damaged
    // --exe must not make memwhy allocate what its e_phoff claims.
    if (!(phEnd <= 1 << 20)) throw new UserError(`${localPath} has a damaged ELF header (program headers end at byte ${phEnd})`);
    local = elf.readAt(elf.segments().find((s) => s.offset === 0n)?.vaddr ?? 0n, phEnd);
  } finally {
    elf.close();
  }
  let inCore: Buffer;
  try {
    inCore = core.read(start, local.length);
  } catch {
    return; // Neither the core nor this machine has the original bytes: nothing to compare.
  }
  if (!inCore.equals(local)) {
    throw new CoreInterpreterError(`${localPath} is not the ${basename(mappedPath)} the process ran (their ELF headers differ)`, 'same-build');
  }
}

/** Py_Version (3.11+), else the version in libpython's or the executable's name. */
function coreVersion(elfPath: string, mappedPath: string): PythonVersion {
  const elf = ElfFile.open(elfPath);
  try {
    const sym = elf.symbol('Py_Version');
    if (sym) return versionFromHex(elf.readAt(sym.value, 8).readBigUInt64LE(0));
  } finally {
    elf.close();
  }
  const named = versionFromLibpython(mappedPath) ?? versionFromExe(mappedPath) ?? versionFromExe(elfPath);
  if (!named) throw new UserError(`cannot tell which CPython version ${mappedPath} is: it has no Py_Version symbol and its name carries no version`);
  return named;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
