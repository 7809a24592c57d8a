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
  /** Calls that ask to run in a copy-on-write child may (default true); false runs them in the target. */
  fork?: boolean;
  /** How to run the bootstrap: the pending-call queue through memory, gdb, or (auto, the default) memory with gdb as the fallback. */
  transport?: 'auto' | 'memory' | 'gdb';
  /**
   * The modules of src/agent the calls will use, handed to the agent in a
   * file with agent.py rather than as define lines it parses first
   * (agentCode.ts DEFAULT_MODULES, the default).
   */
  modules?: readonly string[];
}

export interface CallOptions {
  /** Seconds to wait for this call's reply (default 60). */
  timeoutS?: number;
  /**
   * Run the call in a copy-on-write child of the target (src/agent/fork.py),
   * so that what it allocates never lands in the target's heap; the agent
   * runs it in the target when a child cannot be made, and says why in the
   * result's `snapshot`.
   */
  fork?: boolean;
  /** In the child, keep tracemalloc's traces (the call reads them); otherwise tracing stops there. */
  keepTracing?: boolean;
  /**
   * What the child may copy and allocate, as a multiple of the target's
   * anonymous memory; the call runs in the target instead when the machine
   * or the cgroup has less room (fork.py). Default 1.1: a walk writes every
   * object's refcount, so it copies about all the heap (a census child of a
   * 189 MB heap had 199 MB to itself). A heap dump's columns add more:
   * HEAP_DUMP_CHILD_MEMORY.
   */
  childMemory?: number;
}

/** A heap dump child's memory against the target's: 1.38 measured (260 MB for a 189 MB heap of 2 M objects), with a margin. */
export const HEAP_DUMP_CHILD_MEMORY = 1.5;

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
