/**
 * A transport gets a short Python bootstrap run inside the target at a safe
 * point. gdb is the transport for CPython 2.7 and 3.6-3.13; a PEP 768
 * transport (3.14+: writes through /proc/PID/mem, no ptrace) would sit beside
 * it behind this same interface.
 */
import type { PythonTarget } from '../target/python.js';

export interface InjectResult {
  transport: 'gdb';
  /** Where the target was stopped to run the bootstrap. */
  safePoint: 'eval-frame' | 'restore-thread' | 'pending-call';
  /** Wall time of the whole gdb session, and of the wait for a safe point. */
  gdbMs: number;
  safePointMs: number;
  /** How long the target was stopped in all (attach, breakpoints, the call). */
  stoppedMs: number;
}

export interface InjectOptions {
  safePointTimeoutS: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface Transport {
  inject(target: PythonTarget, bootstrap: string, opts: InjectOptions): Promise<InjectResult>;
}
