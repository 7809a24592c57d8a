/**
 * The heap census probe: every live object in the target by type, counted by
 * the agent (src/agent/census.py) in C-level steps between which the
 * target's other threads keep running. Plain data, stamped with the time it
 * was taken, ready to save or diff.
 */
import type { AgentSession } from '../attach/session.js';

export interface TypeCount {
  /** Module-qualified class name (`app.models.Session`); builtins plain (`dict`). */
  type: string;
  /** The class's module; `builtins` for builtins. */
  module: string;
  count: number;
  /** Shallow bytes: the sum of sys.getsizeof. */
  bytes: number;
}

export interface Census {
  /** ms since the epoch, when the census came back. */
  t: number;
  total: { count: number; bytes: number };
  /** Most bytes first: every type, or the first `top`. */
  types: TypeCount[];
  /**
   * The longest the target's other threads were held off at a time: the
   * census's longest step (the whole census, from agents that raised the
   * switch interval).
   */
  pause_ms: number;
  /** The whole census (absent from agents before it was reported). */
  wall_ms?: number;
  objects_per_s: number | null;
}

export interface CensusOptions {
  /** Only the `top` biggest types (the totals still cover all). */
  top?: number;
  timeoutS?: number;
}

export async function collectCensus(session: AgentSession, opts: CensusOptions = {}): Promise<Census> {
  const reply = await session.call<Omit<Census, 't'>>(
    'census.census',
    opts.top === undefined ? {} : { top: opts.top },
    { timeoutS: opts.timeoutS ?? 300 },
  );
  return { t: Date.now(), ...reply };
}
