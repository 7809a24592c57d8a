/**
 * The referrer probe: the shortest chains of references from a few
 * instances of a type back to a root (a module global, a live frame, a class
 * attribute, gc.garbage), found by the agent (src/agent/refs.py). Plain data.
 */
import type { AgentSession } from '../attach/session.js';

export type HopKind = 'module' | 'frame' | 'class' | 'garbage' | 'object' | 'target';

export interface Hop {
  kind: HopKind;
  /** `module app.cache`, `dict _SESSIONS['9f1c']`, `app.Session`. */
  label: string;
  type: string;
  addr: string;
  /** How this hop refers to the next: `_SESSIONS`, `.attr`, `['key']`, `[3]`, `local x`; null on the last. */
  edge: string | null;
}

export interface Chain {
  /** Address of the sampled instance. */
  sample: string;
  /** The root's kind; null when no root was reached within the depth (then `hops` is the deepest path tried). */
  root: HopKind | null;
  complete: boolean;
  /** From the root to the sample. */
  hops: Hop[];
  /**
   * Shallow bytes of the sample and of what only it keeps alive (objects
   * whose one reference comes from one already counted); absent in evidence
   * from before memwhy measured it.
   */
  kept_bytes?: number;
  kept_objects?: number;
}

export interface GraphNode {
  id: string;
  label: string;
  kind: HopKind | 'referrer';
  type: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  label: string;
}

export interface RefsResult {
  /** The name asked for. */
  type: string;
  /** The full names it matched. */
  matched: string[];
  /** How many instances there are. */
  instances: number;
  chains: Chain[];
  /** The chains merged, plus a few other referrers of each sample. */
  graph: { nodes: GraphNode[]; edges: GraphEdge[] };
  elapsed_ms: number;
}

export interface RefsOptions {
  type: string;
  samples: number;
  maxDepth: number;
  /** Keep tracemalloc's traces in the child: the search then prefers instances allocated while tracing. */
  keepTracing?: boolean;
}

export function collectRefs(session: AgentSession, opts: RefsOptions): Promise<RefsResult> {
  return session.call<RefsResult>('refs.refs', { type: opts.type, samples: opts.samples, max_depth: opts.maxDepth }, { timeoutS: 300, fork: true, keepTracing: opts.keepTracing === true });
}
