/**
 * A consistent snapshot wants the target still while it is read, as py-spy
 * and pystack do by default: SIGSTOP, wait until every thread has stopped,
 * read, SIGCONT. The target is continued on every path: the read is
 * synchronous inside try/finally, a Ctrl-C of memwhy waits for the finally,
 * and a watchdog process continues the target if memwhy itself is killed
 * (SIGKILL, the OOM killer) in the middle.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { UserError, isErrno } from '../errors.js';
import { isSameProcess, readStatus, readTaskIds, readTaskStat, TargetExitedError } from '../target/proc.js';

export interface PauseOptions {
  /** How long to wait for every thread to reach the stopped state before reading anyway. */
  stopTimeoutMs: number;
  /** When the watchdog continues the target if memwhy has not. */
  watchdogSeconds: number;
  /** The target's start time (readStartTicks): checked just before the stop, so a reused pid is never stopped. */
  startTicks?: number;
}

export const DEFAULT_PAUSE: PauseOptions = { stopTimeoutMs: 1000, watchdogSeconds: 5 };

export interface PausedRead<T> {
  value: T;
  /** From SIGSTOP to SIGCONT; 0 when the target was already stopped and memwhy left it so. */
  pauseMs: number;
  /** False when some thread had not stopped by stopTimeoutMs (in uninterruptible sleep, say). */
  allStopped: boolean;
  /** The target was stopped already (job control, a debugger): read as it was and left stopped. */
  foundStopped: boolean;
}

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Runs `read` while the process `pid` is stopped, and continues it afterwards on every path. */
export function withProcessStopped<T>(pid: number, read: () => T, options: PauseOptions = DEFAULT_PAUSE): PausedRead<T> {
  if (/^[Tt]/.test(readStatus(pid).state)) {
    // Stopped by someone else (a job-control stop, a debugger): read, and leave it as it was.
    return { value: read(), pauseMs: 0, allStopped: true, foundStopped: true };
  }
  const watchdog = startWatchdog(pid, options.watchdogSeconds);
  holdSignals();
  // Once before the stop: the first run of the check is the slow one (cold code, cold /proc entries).
  everyThreadStopped(pid);
  const started = performance.now();
  let ended: number;
  let outcome: { value: T; allStopped: boolean };
  try {
    stopSameProcess(pid, options.startTicks);
    try {
      const allStopped = waitUntilStopped(pid, options.stopTimeoutMs);
      outcome = { value: read(), allStopped };
    } finally {
      signal(pid, 'SIGCONT');
      ended = performance.now();
    }
  } finally {
    stopWatchdog(watchdog);
  }
  return { ...outcome, pauseMs: ended - started, foundStopped: false };
}

/**
 * withProcessStopped for a read that waits on something else while the
 * target is stopped (gdb, for native frames). The event loop runs during
 * the pause, so signals are not held: the caller aborts its work on Ctrl-C
 * (an AbortSignal) and the finally continues the target; the watchdog,
 * which must outlast the read's own timeout, covers a memwhy killed outright.
 */
export async function withProcessStoppedAsync<T>(pid: number, read: () => Promise<T>, options: PauseOptions = DEFAULT_PAUSE): Promise<PausedRead<T>> {
  if (/^[Tt]/.test(readStatus(pid).state)) {
    return { value: await read(), pauseMs: 0, allStopped: true, foundStopped: true };
  }
  const watchdog = startWatchdog(pid, options.watchdogSeconds);
  everyThreadStopped(pid);
  const started = performance.now();
  let ended: number;
  let outcome: { value: T; allStopped: boolean };
  try {
    stopSameProcess(pid, options.startTicks);
    try {
      const allStopped = waitUntilStopped(pid, options.stopTimeoutMs);
      outcome = { value: await read(), allStopped };
    } finally {
      signal(pid, 'SIGCONT');
      ended = performance.now();
    }
  } finally {
    stopWatchdog(watchdog);
  }
  return { ...outcome, pauseMs: ended - started, foundStopped: false };
}

let holding = false;

/**
 * While a listener is installed, SIGINT/SIGTERM/SIGHUP do not kill memwhy on
 * the spot: they are queued for the event loop, which runs only after the
 * synchronous pause (and its finally) is over. The listener then re-raises
 * the signal with the default action restored, so memwhy still exits as
 * asked. One installation serves every pause until the loop next turns.
 */
function holdSignals(): void {
  if (holding) return;
  holding = true;
  for (const s of FORWARDED_SIGNALS) process.on(s, releaseSignal);
  setImmediate(stopHoldingSignals);
}

function stopHoldingSignals(): void {
  holding = false;
  for (const s of FORWARDED_SIGNALS) process.removeListener(s, releaseSignal);
}

function releaseSignal(signal: NodeJS.Signals): void {
  stopHoldingSignals();
  process.kill(process.pid, signal);
}

function stopSameProcess(pid: number, startTicks: number | undefined): void {
  if (startTicks !== undefined && !isSameProcess(pid, startTicks)) {
    throw new UserError(`pid ${pid} is no longer the Python process memwhy examined (it exited and the pid was reused): nothing was done to it`);
  }
  signal(pid, 'SIGSTOP');
}

function signal(pid: number, name: 'SIGSTOP' | 'SIGCONT'): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if (name === 'SIGCONT' && isErrno(err, 'ESRCH')) return; // gone while stopped: nothing to continue
    if (isErrno(err, 'ESRCH')) throw new TargetExitedError(pid);
    if (isErrno(err, 'EPERM')) throw new StopNotPermitted(pid);
    throw err;
  }
}

/** Polls /proc/PID/task/*\/stat until every thread is in state T or t. */
function waitUntilStopped(pid: number, timeoutMs: number): boolean {
  const deadline = performance.now() + timeoutMs;
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    if (everyThreadStopped(pid)) return true;
    if (performance.now() > deadline) return false;
    Atomics.wait(tick, 0, 0, 0.2); // a synchronous 200 µs sleep
  }
}

function everyThreadStopped(pid: number): boolean {
  return readTaskIds(pid).every((tid) => {
    const state = readTaskStat(pid, tid)?.state;
    return state === undefined || state === 'T' || state === 't'; // undefined: the thread exited
  });
}

/**
 * A detached shell that continues the target after `seconds`: the safety net
 * for a memwhy killed while the target is stopped. Continuing a running
 * process does nothing, and memwhy kills the watchdog once it has continued
 * the target itself.
 */
function startWatchdog(pid: number, seconds: number): number | undefined {
  const child = spawn('/bin/sh', ['-c', `sleep ${seconds}; kill -CONT ${pid}`], { detached: true, stdio: 'ignore' });
  child.on('error', () => {}); // no /bin/sh: no safety net, the try/finally still holds
  child.unref();
  return child.pid;
}

function stopWatchdog(watchdogPid: number | undefined): void {
  if (watchdogPid === undefined) return;
  try {
    process.kill(-watchdogPid, 'SIGKILL'); // its process group: the shell and its sleep
  } catch {
    // Already gone.
  }
}

/** SIGSTOP refused (EPERM): the target belongs to another user. */
export class StopNotPermitted extends UserError {
  constructor(readonly pid: number) {
    super(`not allowed to stop pid ${pid}: run memwhy as the target's user or as root`);
  }
}
