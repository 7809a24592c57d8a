/**
 * Dumps a live process to an ELF core with gdb's gcore, for reading later
 * (CoreMemory) here or on another machine. gdb stops the target while it
 * writes; on every path (success, failure, timeout, Ctrl-C) gdb detaches or
 * dies, and the target is continued if gdb left it stopped (src/gdb/launch.ts).
 */
import { rmSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { UserError } from '../errors.js';
import { gdbFailure, runGdb } from '../gdb/launch.js';
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
  readStatus(pid); // a pid that is not there fails here, in one line, before gdb starts
  options.onStart?.();
  const started = performance.now();
  try {
    await writeCore(pid, output, options);
  } catch (err) {
    rmSync(output, { force: true });
    throw err;
  }
  return { pid, core: output, bytes: statSync(output).size, seconds: (performance.now() - started) / 1000 };
}

async function writeCore(pid: number, output: string, options: GcoreOptions): Promise<void> {
  // gcore listens for Ctrl-C itself: the command has no interruptSignal() of its own.
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const run = await runGdb(
      { pid, purpose: 'to dump a core', mode: 'batch', readnever: true, commands: [`gcore ${output}`] },
      {
        timeoutMs: options.timeoutMs,
        graceMs: options.graceMs ?? 5000,
        signal: controller.signal,
        doing: 'finish the core',
        undoneOnInterrupt: 'and the partial core was removed',
      },
    );
    if (run.code === 0 && /Saved corefile/.test(run.stdout + run.stderr)) return;
    throw new UserError(gdbFailure(pid, run.stderr || run.stdout, run.code, 'could not dump'));
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
