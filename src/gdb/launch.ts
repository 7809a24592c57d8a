/**
 * gdb, started one way for its three uses: the attach transport (an MI
 * session, src/attach/gdbMi.ts), native stacks (src/collect/native.ts) and
 * cores (src/memory/gcore.ts). Here, once:
 *
 * - where gdb is, and the one message when it is not;
 * - the settings that keep gdb from doing anything of its own against the
 *   target: no init files, no scripts auto-loaded for the target's libraries,
 *   no symbols fetched over the network, no pager, no questions; the C locale,
 *   so its output parses the same everywhere;
 * - its own process group, so a Ctrl-C at the terminal reaches memwhy only,
 *   and a kill reaches gdb and anything it started;
 * - a time limit that ends gdb (SIGTERM, on which a batch gdb detaches and
 *   quits, then SIGKILL), and, once gdb is gone by any path, the target
 *   continued if gdb left it stopped (a gdb killed between PTRACE_ATTACH's
 *   SIGSTOP and its detach does) unless it was stopped before gdb started.
 *   The kernel drops a dead tracer's ptrace, so the target is never left
 *   traced.
 */
import { spawn, type ChildProcessByStdio, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import { readStatus } from '../target/proc.js';

/** gdb is not on PATH; `purpose` says what memwhy wanted it for ("to attach"). */
export class GdbNotInstalled extends UserError {
  constructor(readonly purpose: string) {
    super(`gdb is not installed, and memwhy needs it ${purpose}: apt-get install gdb`);
  }
}

/** gdb overran its time limit and was ended; the target was left running (or stopped, as it was found). */
export class GdbTimeout extends UserError {
  constructor(
    readonly pid: number,
    readonly limitMs: number,
    /** What gdb did not finish: "print the native stacks". */
    readonly doing: string,
  ) {
    super(`gdb did not ${doing} of pid ${pid} within ${limitMs / 1000} s: detached`);
  }
}

/** Ctrl-C or SIGTERM while gdb ran: gdb was ended, which detached it. */
export class GdbInterrupted extends UserError {
  constructor(
    readonly pid: number,
    /** What else was undone, as the end of the sentence: "and the partial core was removed". */
    readonly undone?: string,
  ) {
    super(`interrupted: gdb detached from pid ${pid}${undone ? ` ${undone}` : ''}`, 130);
  }
}

/** gdb from PATH, as a shell would find it. */
export function findGdb(purpose: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/gdb`)) return `${dir}/gdb`;
  }
  throw new GdbNotInstalled(purpose);
}

export function gdbInstalled(): boolean {
  try {
    findGdb('');
    return true;
  } catch {
    return false;
  }
}

/** Settings every gdb of memwhy's runs with, before anything else it reads (-iex). */
const SAFE_SETTINGS = [
  'set debuginfod enabled off', // never fetch symbols over the network
  'set auto-load off', // no python-gdb.py or other scripts for the target's libraries
  'set pagination off',
  'set confirm off',
  'set width 0',
];

export interface GdbLaunch {
  /** The process gdb will attach to (a batch gdb with -p; an MI one when told). */
  pid: number;
  /** What memwhy needs gdb for, for the message when it is missing: "to attach". */
  purpose: string;
  /** 'batch' runs `commands` and quits; 'mi' reads MI commands on stdin. */
  mode: 'batch' | 'mi';
  /** Skip debug info (-readnever): much of gdb's time, and neither the transport nor gcore needs it. */
  readnever?: boolean;
  /** More settings, after the safe ones (-iex). */
  settings?: readonly string[];
  /** What a batch gdb runs once attached (-ex). */
  commands?: readonly string[];
}

/** gdb's argv for `launch` (without the program name). */
export function gdbArgs(launch: GdbLaunch): string[] {
  const args = ['-nx', '-q']; // -nx: no ~/.gdbinit, nothing of the user's runs against the target
  if (launch.mode === 'batch') args.push('-batch');
  else args.push('--interpreter=mi2');
  if (launch.readnever) args.push('-readnever');
  for (const s of [...SAFE_SETTINGS, ...(launch.settings ?? [])]) args.push('-iex', s);
  if (launch.mode === 'batch') {
    args.push('-p', String(launch.pid));
    for (const c of launch.commands ?? []) args.push('-ex', c);
  }
  return args;
}

type BatchChild = ChildProcessByStdio<null, Readable, Readable>;

/** After gdb exits, how long its output pipes may take to close before memwhy stops waiting for them. */
const PIPES_GRACE_MS = 2000;

/** One running gdb: its process group, and the target put back as found once it is gone. */
export class GdbProcess<C extends BatchChild | ChildProcessWithoutNullStreams = BatchChild | ChildProcessWithoutNullStreams> {
  /** Resolves with gdb's exit code once it is gone and the target is as it was found. */
  readonly exited: Promise<number | null>;
  private killTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly child: C,
    readonly targetPid: number,
    private readonly targetWasStopped: boolean,
  ) {
    this.exited = new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null): void => {
        if (done) return;
        done = true;
        if (this.killTimer) clearTimeout(this.killTimer);
        if (!this.targetWasStopped) continueIfStopped(this.targetPid);
        resolve(code);
      };
      // 'close', not 'exit': the pipes are drained too, so the caller has all the output.
      child.on('close', (code) => finish(code));
      child.on('exit', (code) => {
        // Nothing gdb started outlives it (a `shell` command's child would hold
        // its pipes open, and 'close' would never come); and if the pipes stay
        // open all the same, gdb is gone: finish without them.
        signalGroup(child.pid, 'SIGKILL');
        setTimeout(() => finish(code), PIPES_GRACE_MS).unref();
      });
    });
  }

  static batch(launch: GdbLaunch & { mode: 'batch' }): GdbProcess<BatchChild> {
    const { path, wasStopped } = prepare(launch);
    const child = spawn(path, gdbArgs(launch), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: gdbEnv() });
    return new GdbProcess(child, launch.pid, wasStopped);
  }

  static mi(launch: GdbLaunch & { mode: 'mi' }): GdbProcess<ChildProcessWithoutNullStreams> {
    const { path, wasStopped } = prepare(launch);
    const child = spawn(path, gdbArgs(launch), { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: gdbEnv() });
    return new GdbProcess(child, launch.pid, wasStopped);
  }

  /** Ends gdb: SIGTERM to its group now (a batch gdb detaches and quits on it), SIGKILL after `graceMs`. */
  terminate(graceMs: number): void {
    signalGroup(this.child.pid, 'SIGTERM');
    this.killAfter(graceMs);
  }

  /** SIGKILL to gdb's group after `graceMs`, unless it is gone by then. */
  killAfter(graceMs: number): void {
    this.killTimer ??= setTimeout(() => signalGroup(this.child.pid, 'SIGKILL'), graceMs);
  }
}

export interface GdbRun {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface RunLimits {
  timeoutMs: number;
  /** After SIGTERM, how long before SIGKILL. */
  graceMs: number;
  signal?: AbortSignal;
  /** What gdb was doing, for GdbTimeout: "print the native stacks". */
  doing: string;
  /** For GdbInterrupted: what else is undone, said after "gdb detached from pid N". */
  undoneOnInterrupt?: string;
}

/**
 * Runs a batch gdb to its end and resolves with its output; rejects with
 * GdbTimeout past `timeoutMs`, GdbInterrupted when `signal` aborts, in both
 * cases only once gdb is gone and the target is as it was found.
 */
export function runGdb(launch: GdbLaunch & { mode: 'batch' }, limits: RunLimits): Promise<GdbRun> {
  if (limits.signal?.aborted) return Promise.reject(new GdbInterrupted(launch.pid, limits.undoneOnInterrupt));
  const gdb = GdbProcess.batch(launch);
  let stdout = '';
  let stderr = '';
  let failure: Error | undefined;
  gdb.child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  gdb.child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = (why: Error): void => {
    failure ??= why;
    gdb.terminate(limits.graceMs);
  };
  const timer = setTimeout(() => stop(new GdbTimeout(launch.pid, limits.timeoutMs, limits.doing)), limits.timeoutMs);
  const onAbort = (): void => stop(new GdbInterrupted(launch.pid, limits.undoneOnInterrupt));
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
    };
    // gdb removed between findGdb and the spawn: no process, so no 'close' to wait for.
    gdb.child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(err.code === 'ENOENT' ? new GdbNotInstalled(launch.purpose) : err);
    });
    void gdb.exited.then((code) => {
      done();
      if (failure) reject(failure);
      else resolve({ stdout, stderr, code });
    });
  });
}

function prepare(launch: GdbLaunch): { path: string; wasStopped: boolean } {
  const path = findGdb(launch.purpose);
  return { path, wasStopped: isStopped(launch.pid, /^[Tt]/) };
}

function gdbEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C' };
}

function isStopped(pid: number, state: RegExp): boolean {
  try {
    return state.test(readStatus(pid).state);
  } catch {
    return false; // gone: gdb's attach will say so
  }
}

function continueIfStopped(pid: number): void {
  if (!isStopped(pid, /^T/)) return;
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // Gone: nothing to continue.
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * gdb's complaint in one line, with what to do about the usual ones; `failed`
 * says what did not happen ("printed no native stacks for", "could not dump").
 */
export function gdbFailure(pid: number, text: string, code: number | null, failed: string): string {
  if (/ptrace: Operation not permitted/.test(text)) {
    return `gdb may not attach to pid ${pid}: run memwhy as the target's user or as root (and check /proc/sys/kernel/yama/ptrace_scope)`;
  }
  if (/No such process/.test(text)) return `no process with pid ${pid}: check the pid with "memwhy ps"`;
  const last =
    text
      .trim()
      .split('\n')
      .filter((l) => !/^warning:/.test(l))
      .pop() ?? `exit code ${code}`;
  return `gdb ${failed} pid ${pid}: ${last}`;
}
