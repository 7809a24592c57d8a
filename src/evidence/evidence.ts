/**
 * The evidence `memwhy diagnose` decides from, as a saved format: what
 * `--save DIR` writes and `memwhy report DIR` reads back, on another machine
 * or a later day. Its own module, so that collect/ (which makes it) and
 * analyze/ (which reads it) both depend on it and not on each other, and so
 * that a damaged or foreign file is refused in one line, not met as an
 * internal error deep in the analysis.
 */
import type { Census } from '../collect/census.js';
import type { GcState } from '../collect/gc.js';
import type { MallocEvidence, TrimEvidence } from '../collect/malloc.js';
import type { RefsResult } from '../collect/refs.js';
import type { MemorySample } from '../collect/rss.js';

export const EVIDENCE_FORMAT = 'memwhy-evidence/1';

export interface TracemallocEvidence {
  /** Why there is no tracemalloc evidence, when there is none. */
  skipped?: string;
  already_tracing?: boolean;
  nframe?: number;
  traced_total?: number;
  top?: { site: string; size: number; count: number; size_diff: number; count_diff: number; traceback: string[] }[];
  type_sites?: Record<string, { site: string; samples: number }[]>;
  /** Bytes tracemalloc itself used by the end: RSS growth the program did not cause. */
  overhead?: number;
}

/**
 * A heap dump taken at the end of the window, reduced to what the verdict
 * uses: the retained size (the object and everything only it keeps alive,
 * through the dominator tree) of each object on the referrer chains, by its
 * address, so the saved evidence keeps the figures without the dump.
 */
export interface DumpFacts {
  file: string;
  objects: number;
  bytes: number;
  /** By address ("0x7f..."), for the chains' objects found in the dump. */
  retained: Record<string, { bytes: number; objects: number }>;
}

/** Something memwhy did to the target during the window, and when. */
export interface MemwhyStep {
  what: string;
  /** ms since the epoch. */
  start: number;
  end: number;
  /**
   * The step allocated inside the target (a census that could not run in a
   * child): the RSS change across it is memwhy's, not the program's.
   */
  in_target: boolean;
}

export interface Evidence {
  format: typeof EVIDENCE_FORMAT;
  memwhy_version: string;
  pid: number;
  python: { version: string; exe: string };
  cmdline: string[];
  started_at: number;
  ended_at: number;
  samples: MemorySample[];
  censuses: Census[];
  gc: { start: GcState | null; end: GcState | null };
  tracemalloc: TracemallocEvidence;
  malloc: { start: MallocEvidence | null; end: MallocEvidence | null };
  trim: TrimEvidence | null;
  refs: RefsResult[];
  /** memwhy's own steps (absent from evidence saved before they were recorded). */
  steps?: MemwhyStep[];
  /** The heap dump taken at the end (`diagnose --dump`), and what the referrer chains' objects retain in it. */
  dump?: DumpFacts;
  /** What could not be gathered, and why. */
  notes: string[];
}

/** Why a text is not evidence memwhy can read: says what is wrong and where. */
export class EvidenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceError';
  }
}

type Shape = 'number' | 'string' | 'boolean' | 'object' | 'array' | 'object|null';

function check(value: unknown, shape: Shape, where: string): void {
  const ok =
    shape === 'array'
      ? Array.isArray(value)
      : shape === 'object'
        ? typeof value === 'object' && value !== null && !Array.isArray(value)
        : shape === 'object|null'
          ? value === null || (typeof value === 'object' && !Array.isArray(value))
          : shape === 'number'
            ? typeof value === 'number' && Number.isFinite(value)
            : typeof value === shape;
  if (!ok) throw new EvidenceError(`${where} should be ${shape.replace('|', ' or ')}, found ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
}

function fields(obj: Record<string, unknown>, where: string, spec: Record<string, Shape>): void {
  for (const [key, shape] of Object.entries(spec)) check(obj[key], shape, `${where}.${key}`);
}

/**
 * Reads evidence from its JSON text, checking every part the analysis
 * relies on. Parts added after format 1 (steps, snapshot, kept_bytes, dump) are
 * optional: older evidence still reads.
 */
export function parseEvidence(text: string): Evidence {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new EvidenceError(`not JSON (${(err as Error).message})`);
  }
  check(data, 'object', 'the file');
  const e = data as Record<string, unknown>;
  if (e.format !== EVIDENCE_FORMAT) {
    throw new EvidenceError(
      typeof e.format === 'string' && e.format.startsWith('memwhy-evidence/')
        ? `evidence format ${e.format}, this memwhy reads ${EVIDENCE_FORMAT}`
        : `not memwhy evidence (no "format": "${EVIDENCE_FORMAT}")`,
    );
  }
  fields(e, 'evidence', {
    memwhy_version: 'string',
    pid: 'number',
    python: 'object',
    cmdline: 'array',
    started_at: 'number',
    ended_at: 'number',
    samples: 'array',
    censuses: 'array',
    gc: 'object',
    tracemalloc: 'object',
    malloc: 'object',
    trim: 'object|null',
    refs: 'array',
    notes: 'array',
  });
  (e.samples as unknown[]).forEach((s, i) => {
    check(s, 'object', `samples[${i}]`);
    fields(s as Record<string, unknown>, `samples[${i}]`, { t: 'number', rss: 'number', anon: 'number', threads: 'number' });
  });
  (e.censuses as unknown[]).forEach((c, i) => {
    check(c, 'object', `censuses[${i}]`);
    const census = c as Record<string, unknown>;
    fields(census, `censuses[${i}]`, { t: 'number', total: 'object', types: 'array', pause_ms: 'number' });
    fields(census.total as Record<string, unknown>, `censuses[${i}].total`, { count: 'number', bytes: 'number' });
    (census.types as unknown[]).forEach((t, j) => {
      check(t, 'object', `censuses[${i}].types[${j}]`);
      fields(t as Record<string, unknown>, `censuses[${i}].types[${j}]`, { type: 'string', module: 'string', count: 'number', bytes: 'number' });
    });
  });
  const gc = e.gc as Record<string, unknown>;
  for (const end of ['start', 'end']) {
    check(gc[end], 'object|null', `gc.${end}`);
    if (gc[end]) {
      const g = gc[end] as Record<string, unknown>;
      fields(g, `gc.${end}`, { enabled: 'boolean', thresholds: 'array', counts: 'array', garbage: 'object' });
      fields(g.garbage as Record<string, unknown>, `gc.${end}.garbage`, { count: 'number', bytes: 'number', groups: 'array' });
    }
  }
  const malloc = e.malloc as Record<string, unknown>;
  for (const end of ['start', 'end']) check(malloc[end], 'object|null', `malloc.${end}`);
  (e.steps as unknown[] | undefined)?.forEach((s, i) => {
    check(s, 'object', `steps[${i}]`);
    fields(s as Record<string, unknown>, `steps[${i}]`, { what: 'string', start: 'number', end: 'number', in_target: 'boolean' });
  });
  if (e.steps !== undefined) check(e.steps, 'array', 'evidence.steps');
  if (e.dump !== undefined) {
    check(e.dump, 'object', 'evidence.dump');
    fields(e.dump as unknown as Record<string, unknown>, 'dump', { file: 'string', objects: 'number', bytes: 'number', retained: 'object' });
  }
  return data as Evidence;
}

export function serializeEvidence(e: Evidence): string {
  return JSON.stringify(e);
}
