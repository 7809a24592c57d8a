/**
 * A transport gets a short Python bootstrap run inside the target at a safe
 * point. Two do: the memory transport (the interpreter's pending-call queue
 * written through /proc/PID/mem, no gdb) and gdb, its fallback; a PEP 768
 * transport (3.14+) would sit beside them behind this same interface.
 */
import type { PythonTarget } from '../target/python.js';

export interface InjectResult {
  transport: 'gdb' | 'memory';
  /** Where the bootstrap ran: at a gdb breakpoint, or as a call the interpreter took from its queue. */
  safePoint: 'eval-frame' | 'restore-thread' | 'pending-call' | 'queued-call';
  /** Wall time of the whole gdb session (gdb only). */
  gdbMs?: number;
  /** The wait for a safe point (gdb) or for the queued call to run (memory). */
  safePointMs: number;
  /** Why the memory transport was not used, when memwhy fell back to gdb. */
  fallback?: string;
  /** How long the target was stopped in all (attach, breakpoints, the call). */
  stoppedMs: number;
}

export interface InjectOptions {
  safePointTimeoutS: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
  /** memwhy's private directory, locally and as the target sees it, and its owner (the memory transport puts its bootstrap there). */
  privateDir?: { localDir: string; targetDir: string; uid: number; gid: number };
}

export interface Transport {
  inject(target: PythonTarget, bootstrap: string, opts: InjectOptions): Promise<InjectResult>;
  /** Called once the agent has connected or the attach has failed: clears what the transport left in the target. */
  settle?(pid: number): void;
}
