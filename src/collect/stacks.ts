/**
 * The stacks probe: every Python thread's frames, read from memory without
 * running code in the target, from a live process (paused briefly unless
 * asked not to) or a core file. Returns plain data, ready to save or render.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UserError } from '../errors.js';
import { CoreMemory } from '../memory/core.js';
import { LiveMemory } from '../memory/live.js';
import { withProcessStopped } from '../memory/pause.js';
import type { MemorySource } from '../memory/source.js';
import { findInterpreterSymbols, NoLayoutError, resolveLayout, type InterpreterSymbols } from '../cpython/locate.js';
import { layoutFor, type Layout } from '../cpython/layouts.js';
import { pthreadTidOffset, tidOfPthread } from '../cpython/pthread.js';
import { StackReader, type PythonThread } from '../cpython/stacks.js';
import { ElfFile, loadBias } from '../target/elf.js';
import { procError, readMaps, targetRootPath, type Mapping } from '../target/proc.js';
import {
  classifyImplementation,
  describePython,
  versionFromExe,
  versionFromHex,
  versionFromLibpython,
  type PythonVersion,
} from '../target/python.js';

export interface StackFrame {
  function: string;
  file: string;
  /** null where the interpreter's line table gives the instruction no line. */
  line: number | null;
  /** With --locals: each bound local's name, type and short value. */
  locals?: { name: string; type: string; value: string }[];
}

/** From /proc/PID/task/TID/stat just before the read: R is running, S and D idle; unknown in a core. */
export type ThreadRunState = 'running' | 'idle' | 'stopped' | 'unknown';

export interface ThreadStack {
  /** Kernel thread id; null when it cannot be told (a pthread id that matches no thread). */
  tid: number | null;
  /** /proc/PID/task/TID/comm; null in a core, which does not record thread names. */
  name: string | null;
  holds_gil: boolean;
  state: ThreadRunState;
  /** Innermost first. */
  frames: StackFrame[];
  /** Why the frames stop early, when they do. */
  error?: string;
}

export interface StacksEvidence {
  pid: number;
  version: string;
  source: 'memory' | 'core';
  /** How long the target was stopped; 0 with --nonblocking, or for a core. */
  pause_ms: number;
  /** How long reading the stacks took. */
  read_ms: number;
  /** The core file read, for source "core". */
  core?: string;
  /** Things the reader had to do differently, in a sentence each (printed on stderr by the CLI). */
  warnings: string[];
  threads: ThreadStack[];
}

export interface LiveStacksOptions {
  /** Read without stopping the target: no pause, but frames may be torn. */
  nonblocking: boolean;
  /** Read each frame's local variables too (a longer pause). */
  locals?: boolean;
}

interface Task {
  tid: number;
  name: string;
  state: ThreadRunState;
}

/** Stacks of a live process, read through /proc/PID/mem. */
export function collectStacks(pid: number, options: LiveStacksOptions): StacksEvidence {
  const target = describePython(pid);
  const base = layoutFor(target.version);
  if (!base) throw new NoLayoutError(target.version.text);
  const maps = readMaps(pid);
  const symbols = readSymbols(target.interpreterElf, maps, target.libpython ?? target.exe, base);
  const memory = LiveMemory.open(pid);
  try {
    const layout = resolveLayout(memory, target.version, symbols);
    const tidOffset = pthreadTidOffset(maps, (p) => targetRootPath(pid, p));
    // Run states first: once stopped, every thread reads T.
    const tasks = readTasks(pid);
    const reader = new StackReader(memory, layout, symbols, { locals: options.locals ?? false });
    const read = (): PythonThread[] => reader.threads();
    const started = performance.now();
    let threads: PythonThread[];
    let pauseMs = 0;
    const warnings: string[] = [];
    const foreground = !options.nonblocking && isForegroundOfTerminal(pid);
    if (foreground) {
      warnings.push(
        `pid ${pid} is the foreground job of a terminal: stopping it would hand the terminal to its shell, so it was read without pausing (frames may be torn)`,
      );
    }
    if (options.nonblocking || foreground) {
      threads = read();
    } else {
      // A first read while the target runs warms the code object cache and
      // the JIT, so the read inside the pause is short. Torn frames there do
      // not matter: only the paused read is reported.
      try {
        read();
      } catch {
        // The paused read will report what fails.
      }
      const paused = withProcessStopped(pid, read);
      threads = paused.value;
      pauseMs = paused.pauseMs;
    }
    const readMs = performance.now() - started;
    const byTid = new Map(tasks.map((t) => [t.tid, t]));
    return {
      pid,
      version: target.version.text,
      source: 'memory',
      pause_ms: round(pauseMs),
      read_ms: round(readMs),
      warnings,
      threads: sortThreads(
        threads.map((t) => {
          const tid = threadTid(memory, layout, t, tidOffset, new Set(byTid.keys()));
          const task = tid === null ? undefined : byTid.get(tid);
          return toThreadStack(t, tid, task?.name ?? null, task?.state ?? 'unknown');
        }),
      ),
    };
  } finally {
    memory.close();
  }
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
  if (layout.tstate.nativeThreadId !== undefined) return t.nativeThreadId ?? null;
  return tidOfPthread(memory, t.threadId, tidOffset, known) ?? null;
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

function readTasks(pid: number): Task[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch (err) {
    throw procError(pid, 'task', err);
  }
  const tasks: Task[] = [];
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').replace(/\n$/, '');
      tasks.push({ tid: Number(tid), name, state: runState(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)) });
    } catch {
      // The thread exited since readdir.
    }
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
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    throw procError(pid, 'stat', err);
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [pgrp, tty, tpgid] = [Number(f[2]), Number(f[4]), Number(f[5])];
  return tty !== 0 && tpgid === pgrp;
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
      const hint = libpython ? `the interpreter is ${libpython}: give --exe a copy of that library` : `it maps ${paths.slice(0, 3).join(', ')}, ...`;
      throw new UserError(`${core.path} does not map ${basename(exe)}: ${hint}`);
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
  throw new UserError(
    `${core.path} is not a core of a CPython process memwhy can read here: no mapped file defines the interpreter (if the core comes from another machine, give --exe the python it ran)`,
  );
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
    throw new UserError(`${localPath} is not the ${basename(mappedPath)} the process ran (their ELF headers differ): give --exe the same build`);
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
