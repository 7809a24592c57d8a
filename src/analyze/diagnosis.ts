/**
 * The shape of `memwhy diagnose`'s result: what the JSON output prints and
 * what the HTML report draws. Produced by a pure function from the saved
 * evidence (src/analyze/verdict.ts), so `memwhy report DIR` gives the same
 * document later, elsewhere.
 */

export type Cause =
  | 'python-objects'
  | 'uncollectable'
  | 'cyclic-garbage'
  | 'native'
  | 'allocator-retention'
  | 'thread-leak'
  /** RSS climbed and no signal memwhy measures climbed with it. */
  | 'unexplained'
  | 'no-growth';

/** What one signal says, with the numbers that decided it. */
export interface CauseFinding {
  cause: Exclude<Cause, 'no-growth' | 'unexplained'>;
  status: 'issue' | 'none' | 'insufficient-data';
  /** Plain words with the figures: "RSS grew 212 MiB while live objects grew 3 MiB". */
  summary: string;
  /** 0..1: how strongly this signal points at its cause. */
  score: number;
  numbers: Record<string, number | null>;
}

export interface Suspect {
  type: string;
  count_delta: number;
  bytes_delta: number;
  count_per_s: number;
  bytes_per_s: number;
  /** "file:line" of the top allocation site of this type (tracemalloc), when known. */
  site: string | null;
  /** The referrer chain from a root, as labels: ["module app.cache", "dict _SESSIONS['9f1c']", "app.Session"]. */
  path: string[] | null;
  /**
   * What the path's holder (its first object after the root) retains in the
   * heap dump taken at the end (`diagnose --dump`): bytes and objects only
   * it keeps alive, and their share of the dump's bytes. Null without a dump
   * or when the holder was gone by then.
   */
  holder?: { label: string; bytes: number; objects: number; share: number } | null;
}

export interface AllocationSite {
  /** "file:line". */
  site: string;
  size_diff: number;
  count_diff: number;
  size: number;
  count: number;
  /** The innermost frames, outermost first, when tracemalloc kept more than one. */
  traceback: string[];
}

export interface BreakdownLine {
  label: string;
  bytes: number | null;
  /** Nesting level in the breakdown table (0 = RSS). */
  depth: number;
  source: string;
}

export interface Diagnosis {
  memwhy_version: string;
  pid: number;
  python: { version: string; exe: string };
  cmdline: string[];
  window: { start: string; end: string; duration_s: number };
  verdict: {
    cause: Cause;
    /** One or two sentences a person reads first. */
    summary: string;
    confidence: 'high' | 'medium' | 'low';
    /** The figures that decided it, as short sentences. */
    evidence: string[];
    /** Further causes found, main one excluded. */
    other_causes: { cause: Cause; summary: string }[];
  };
  rss: {
    start: number;
    end: number;
    /** Least-squares slope, bytes/s. */
    slope: number;
    r2: number | null;
    /** [seconds since start, rss, anon, threads] */
    samples: [number, number, number, number][];
    /** memwhy's own steps in the window (censuses), seconds since the first sample. */
    steps?: { what: string; start_s: number; end_s: number; in_target: boolean }[];
    /** RSS memwhy's in-target steps added, taken out before the slope was fitted. */
    memwhy_steps_bytes?: number;
  };
  threads: { start: number; end: number; slope_per_min: number };
  heap: {
    start: { count: number; bytes: number };
    end: { count: number; bytes: number };
    pause_ms: number;
  } | null;
  suspects: Suspect[];
  /** The heap dump taken at the end of the window (`diagnose --dump`), for `memwhy analyze`. */
  heap_dump?: { file: string; objects: number; bytes: number };
  allocation_sites: AllocationSite[] | null;
  gc: {
    enabled: boolean;
    thresholds: number[];
    garbage_start: number;
    garbage_end: number;
    collections: number[] | null;
    uncollectable: number | null;
  } | null;
  breakdown: BreakdownLine[];
  trim: { rss_before: number; rss_after: number; released: number; pause_ms: number } | null;
  /** The referrer graph for the top suspects (nodes and edges from `refs`). */
  refs_graph: { nodes: { id: string; label: string; kind: string; type: string }[]; edges: { from: string; to: string; label: string }[] } | null;
  findings: CauseFinding[];
  recommendations: string[];
  /** What memwhy could not measure, and why. */
  notes: string[];
}
