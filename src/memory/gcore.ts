/**
 * Dumps a live process to an ELF core with gdb's gcore, for reading later
 * (CoreMemory) here or on another machine. gdb stops the target while it
 * writes; on every path (success, failure, timeout, Ctrl-C) gdb detaches or
 * dies, and memwhy continues the target if gdb left it stopped.
 */
import { spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { UserError } from '../errors.js';
import { readStatus } from '../target/proc.js';

export interface CoreDump {
  pid: number;
  core: string;
  bytes: number;
  /** How long gdb held the target (attach, dump, detach). */
  seconds: number;
}

export interface GcoreOptions {
  timeoutMs: number;
  /** After SIGTERM (gdb detaches and quits on it), how long before SIGKILL. */
  graceMs?: number;
  /** Told once the target is known to exist, just before gdb starts. */
  onStart?: () => void;
}

export async function dumpCore(pid: number, output: string, options: GcoreOptions): Promise<CoreDump> {
  const wasStopped = /^[Tt]/.test(readStatus(pid).state);
  options.onStart?.();
  const started = performance.now();
  try {
    await runGdb(pid, output, options);
  } catch (err) {
    rmSync(output, { force: true });
    throw err;
  } finally {
    // A gdb killed between PTRACE_ATTACH's SIGSTOP and its detach leaves the target stopped.
    if (!wasStopped) continueIfStopped(pid);
  }
  return { pid, core: output, bytes: statSync(output).size, seconds: (performance.now() - started) / 1000 };
}

function runGdb(pid: number, output: string, options: GcoreOptions): Promise<void> {
  const args = [
    '-nx', // no ~/.gdbinit: nothing of the user's runs against the target
    '-batch',
    '-readnever', // no debug info: gcore needs none, and reading it is most of gdb's time
    '-iex', 'set debuginfod enabled off', // never fetch symbols over the network
    '-iex', 'set auto-load safe-path /nonexistent', // no python/gdb scripts auto-loaded for the target's libraries
    '-p', String(pid),
    '-ex', `gcore ${output}`,
  ];
  return new Promise((resolve, reject) => {
    // Its own process group: a Ctrl-C at the terminal reaches memwhy, which then stops gdb in order.
    const gdb = spawn('gdb', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    let stdout = '';
    let failure: Error | undefined;
    gdb.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    gdb.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: Error): void => {
      failure ??= why;
      signalGroup(gdb.pid, 'SIGTERM');
      killTimer ??= setTimeout(() => signalGroup(gdb.pid, 'SIGKILL'), options.graceMs ?? 5000);
    };
    const timer = setTimeout(
      () => stop(new UserError(`gdb did not finish the core of pid ${pid} within ${options.timeoutMs / 1000} s: detached; try a longer --timeout`)),
      options.timeoutMs,
    );
    const onSignal = (): void => stop(new UserError(`interrupted: gdb detached from pid ${pid} and the partial core was removed`, 130));
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const done = (): void => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    };
    gdb.on('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(err.code === 'ENOENT' ? new UserError('gdb is not installed: apt-get install gdb') : err);
    });
    gdb.on('close', (code) => {
      done();
      if (failure) return reject(failure);
      if (code === 0 && /Saved corefile/.test(stdout + stderr)) return resolve();
      reject(new UserError(gdbFailure(pid, stderr || stdout, code)));
    });
  });
}

/** gdb's complaint in one line, with what to do about the usual ones. */
function gdbFailure(pid: number, text: string, code: number | null): string {
  if (/ptrace: Operation not permitted/.test(text)) {
    return `gdb may not attach to pid ${pid}: run memwhy as the target's user or as root (and check /proc/sys/kernel/yama/ptrace_scope)`;
  }
  if (/No such process/.test(text)) return `no process with pid ${pid}: check the pid with "memwhy ps"`;
  const last = text.trim().split('\n').filter((l) => !/^warning:/.test(l)).pop() ?? `exit code ${code}`;
  return `gdb could not dump pid ${pid}: ${last}`;
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function continueIfStopped(pid: number): void {
  try {
    if (/^T/.test(readStatus(pid).state)) process.kill(pid, 'SIGCONT');
  } catch {
    // Gone: nothing to continue.
  }
}
