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

/** Where a heap walk ran (src/agent/fork.py). */
export interface SnapshotInfo {
  /** true: in a copy-on-write child; the target was held only for the fork. */
  forked: boolean;
  /** How long the fork held the target. */
  fork_ms?: number;
  /** The child's walk. */
  child_ms?: number;
  /** The child was forked by memwhy's code that clears the GIL drop request and the eval breaker in it (fork.py). */
  breaker_cleared?: boolean;
  /** Why the walk ran in the target instead. */
  why?: string;
}

export interface Census {
  /** ms since the epoch: the instant the census describes (the fork, or the middle of an in-target walk). */
  t: number;
  total: { count: number; bytes: number };
  /** Most bytes first: every type, or the first `top`. */
  types: TypeCount[];
  /**
   * The longest the target's threads were held off at a time: the fork, for
   * a census taken in a child; the census's longest step in the target
   * otherwise.
   */
  pause_ms: number;
  /** The whole census (absent from agents before it was reported). */
  wall_ms?: number;
  objects_per_s: number | null;
  /** Absent from evidence saved before censuses could run in a child. */
  snapshot?: SnapshotInfo;
}

export interface CensusOptions {
  /** Only the `top` biggest types (the totals still cover all). */
  top?: number;
  timeoutS?: number;
}

interface CensusReply extends Omit<Census, 't'> {
  /** Epoch seconds when the walk began (in the child: just after the fork). */
  started_at?: number;
}

export async function collectCensus(session: AgentSession, opts: CensusOptions = {}): Promise<Census> {
  const asked = Date.now();
  const { started_at, ...reply } = await session.call<CensusReply>('census.census', opts.top === undefined ? {} : { top: opts.top }, { timeoutS: opts.timeoutS ?? 300, fork: true });
  const forked = reply.snapshot?.forked === true;
  const t = started_at === undefined ? asked : started_at * 1000 + (forked ? 0 : (reply.wall_ms ?? 0) / 2);
  return { ...reply, t, pause_ms: forked ? (reply.snapshot?.fork_ms ?? reply.pause_ms) : reply.pause_ms };
}
