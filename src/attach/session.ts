/**
 * An open channel to memwhy's agent inside a target process.
 * (Interface first; the implementation lands with the gdb transport.)
 */
import type { PythonTarget } from '../target/python.js';

export interface AttachOptions {
  /** Seconds to wait for the target to reach a safe point. */
  safePointTimeoutS?: number;
  /** Called with progress lines for stderr. */
  onProgress?: (line: string) => void;
}

export interface CallOptions {
  /** Seconds to wait for this call's reply (default 60). */
  timeoutS?: number;
}

export interface AgentSession {
  readonly target: PythonTarget;
  /**
   * The agent's private directory as memwhy sees it (through /proc/PID/root)
   * and as the target sees it: agent calls that write files (a heap dump)
   * write under `targetDir`, memwhy reads them under `localDir`.
   */
  readonly localDir: string;
  readonly targetDir: string;
  /**
   * Runs `module.function(**params)` in the agent, where module is a .py file
   * in src/agent/; resolves with its JSON-able result. A Python exception
   * rejects with AgentCallError carrying the traceback text.
   */
  call<T = unknown>(method: string, params?: Record<string, unknown>, opts?: CallOptions): Promise<T>;
  close(): Promise<void>;
}

export class AgentCallError extends Error {
  constructor(
    message: string,
    readonly pythonType: string,
    readonly traceback: string,
  ) {
    super(message);
    this.name = 'AgentCallError';
  }
}
