/**
 * The collector probe: the target's gc settings and counters and what sits
 * in gc.garbage (src/agent/gcstate.py), and, on request only, one collection
 * and what it freed. Plain data.
 */
import type { AgentSession } from '../attach/session.js';

export interface GenerationStats {
  generation: number;
  collections: number;
  collected: number;
  uncollectable: number;
}

/** One object on a reference cycle; the last hop is the first object again. */
export interface CycleHop {
  type: string;
  addr: string;
  /** `app.Node .partner`: the type and how the previous hop refers to it. */
  label: string;
  /** How this object refers to the next hop: `.attr`, `['key']`, `[3]`. */
  edge: string | null;
  /** Its class defines __del__ (what kept the cycle from being freed before 3.4). */
  has_del: boolean;
}

export interface GarbageGroup {
  type: string;
  count: number;
  bytes: number;
  /** Short reprs of the first few. */
  samples: string[];
  has_del: boolean;
  /** The shortest cycle through the group's __del__ object (or first object); null if none was found. */
  cycle: CycleHop[] | null;
}

export interface GcState {
  python: string;
  enabled: boolean;
  thresholds: number[];
  /** gc.get_count(): allocations (gen 0) and collections (older) since each generation was last collected. */
  counts: number[];
  /** Names of the gc.DEBUG_* flags that are set. */
  debug: string[];
  /** gc.get_stats(): null before 3.4. */
  stats: GenerationStats[] | null;
  /** gc.get_freeze_count(): null before 3.7. */
  freeze_count: number | null;
  /** kept_bytes: shallow bytes of everything reachable from gc.garbage (absent from older evidence). */
  garbage: { count: number; bytes: number; kept_bytes?: number; groups: GarbageGroup[] };
  notes: string[];
}

export interface TrackedSnapshot {
  counts: number[];
  /** GC-tracked objects (gc.get_objects()). */
  tracked: number;
  /** Their shallow bytes. */
  bytes: number;
}

export interface GcCollection {
  generation: number;
  /** What gc.collect returned: unreachable objects found. */
  unreachable: number;
  duration_ms: number;
  before: TrackedSnapshot;
  after: TrackedSnapshot;
  /** Tracked objects and bytes freed, and the types that lost the most objects. */
  freed: { objects: number; bytes: number; types: { type: string; count: number }[] };
  /** len(gc.garbage) afterwards. */
  garbage: number;
}

export function collectGcState(session: AgentSession): Promise<GcState> {
  return session.call<GcState>('gcstate.state', {}, { timeoutS: 120, fork: true });
}

/** Runs one collection in the target: it changes the target, so only when asked. */
export function collectGarbage(session: AgentSession, generation = 2): Promise<GcCollection> {
  return session.call<GcCollection>('gcstate.collect', { generation }, { timeoutS: 300 });
}
