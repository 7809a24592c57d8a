/**
 * The malloc probe behind `memwhy malloc` and `memwhy trim`: what the target's
 * two allocators hold, read inside it by the agent (src/agent/mallocstats.py),
 * and what its memory mappings hold, read from /proc/PID/smaps by memwhy.
 * Returns plain data (parsed counters, no raw text) ready to save or analyse.
 */
import type { OpenedSession } from '../attach/agentSession.js';
import { readEnviron, readMaps, readSmapsMappings, type SmapsMapping } from '../target/proc.js';
import { detectAllocator, type AllocatorName, type DetectedAllocator } from './allocators.js';
import { sampleMemory, type MemorySample } from './rss.js';

/** Resident memory in mappings memwhy can name from their shape alone. */
export interface MappingTotals {
  /** Threads' stacks: anonymous rw mappings just above a small PROT_NONE guard (glibc allocate_stack). */
  thread_stacks: { count: number; rss: number };
  /** The main thread's [stack]. */
  main_stack_rss: number;
  /**
   * glibc malloc's arenas: the main one in [heap] (brk) and the others'
   * heaps, each mmapped at a HEAP_MAX_SIZE (64 MiB) boundary with the
   * unused rest PROT_NONE (glibc malloc/arena.c new_heap).
   */
  glibc_heaps: { count: number; rss: number; main_rss: number };
}

/** glibc's HEAP_MAX_SIZE on 64-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX = 2 * 32 MiB (malloc/arena.c). */
export const GLIBC_HEAP_MAX = 64n * 1024n * 1024n;
/** A guard larger than this is not a thread stack's (glibc's default is one page). */
const MAX_GUARD = 64n * 1024n;

export function classifyMappings(maps: readonly SmapsMapping[]): MappingTotals {
  const totals: MappingTotals = {
    thread_stacks: { count: 0, rss: 0 },
    main_stack_rss: 0,
    glibc_heaps: { count: 0, rss: 0, main_rss: 0 },
  };
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    if (m.path === '[stack]') {
      totals.main_stack_rss += m.rss;
      continue;
    }
    if (m.path === '[heap]') {
      totals.glibc_heaps.count++;
      totals.glibc_heaps.rss += m.rss;
      totals.glibc_heaps.main_rss += m.rss;
      continue;
    }
    if (m.path !== '' || !m.perms.startsWith('rw')) continue;
    const prev = maps[i - 1];
    const next = maps[i + 1];
    if (m.start % GLIBC_HEAP_MAX === 0n && m.end - m.start <= GLIBC_HEAP_MAX) {
      // A heap: all of it read-write, or followed by its own PROT_NONE reserve up to the boundary.
      const reserveEnd = next && next.start === m.end && next.perms.startsWith('---') && next.path === '' ? next.end : m.end;
      if (reserveEnd - m.start === GLIBC_HEAP_MAX) {
        totals.glibc_heaps.count++;
        totals.glibc_heaps.rss += m.rss;
        continue;
      }
    }
    if (prev && prev.end === m.start && prev.path === '' && prev.perms.startsWith('---') && prev.end - prev.start <= MAX_GUARD) {
      totals.thread_stacks.count++;
      totals.thread_stacks.rss += m.rss;
    }
  }
  return totals;
}

// --- pymalloc's statistics text ----------------------------------------------------

/** pymalloc's own counters, from _PyObject_DebugMallocStats (Objects/obmalloc.c). */
export interface PymallocStats {
  arenas: number;
  arena_size: number;
  /** arenas * arena_size: what pymalloc has mapped. */
  arena_bytes: number;
  /** Bytes in blocks that hold objects. */
  allocated: number;
  /** Free blocks inside pools in use. */
  available: number;
  /** Whole free pools inside arenas. */
  unused_pools: number;
  /** Pool headers, quantization and arena alignment. */
  overhead: number;
  arenas_allocated_total: number | null;
  arenas_reclaimed: number | null;
  arenas_highwater: number | null;
}

/**
 * Parses the pymalloc part of `sys._debugmallocstats()`. The figures are
 * "label = 1,234" lines; the labels have held since 3.3, and 3.13 adds an
 * "arena map" section with a second Total, which is not pymalloc's.
 * Returns null when the text has no pymalloc figures.
 */
export function parsePymallocStats(text: string): PymallocStats | null {
  const figures = new Map<string, number>();
  let arenas: number | undefined;
  let arenaSize: number | undefined;
  let unusedPools = 0;
  for (const line of text.split('\n')) {
    // Split at the last '=' rather than matching /^(.*?)\s*=\s*([\d,]+)\s*$/: that
    // regex backtracks quadratically, and a 64 KiB line of spaces took 7 s.
    const eq = line.lastIndexOf('=');
    const m = eq < 0 ? null : /^\s*([\d,]+)\s*$/.exec(line.slice(eq + 1));
    if (!m) continue;
    const label = line.slice(0, eq).trim();
    const value = Number(m[1]!.replace(/,/g, ''));
    const perArena = /^(\d+) arenas \* (\d+) bytes\/arena$/.exec(label);
    if (perArena) {
      arenas = Number(perArena[1]);
      arenaSize = Number(perArena[2]);
    } else if (/^\d+ unused pools \* \d+ bytes$/.test(label)) {
      unusedPools = value;
    } else if (!figures.has(label)) {
      // First one wins: the arena-map section's Total comes later.
      figures.set(label, value);
    }
  }
  const allocated = figures.get('# bytes in allocated blocks');
  if (allocated === undefined) return null;
  const current = figures.get('# arenas allocated current') ?? arenas ?? 0;
  const total = figures.get('Total');
  const size = arenaSize ?? (current > 0 && total !== undefined ? total / current : 0);
  const get = (label: string): number | null => figures.get(label) ?? null;
  return {
    arenas: current,
    arena_size: size,
    arena_bytes: current * size,
    allocated,
    available: figures.get('# bytes in available blocks') ?? 0,
    unused_pools: unusedPools,
    overhead: (figures.get('# bytes lost to pool headers') ?? 0) + (figures.get('# bytes lost to quantization') ?? 0) + (figures.get('# bytes lost to arena alignment') ?? 0),
    arenas_allocated_total: get('# arenas allocated total'),
    arenas_reclaimed: get('# arenas reclaimed'),
    arenas_highwater: get('# arenas highwater mark'),
  };
}

// --- glibc's malloc_info XML ----------------------------------------------------------

export interface GlibcArena {
  nr: number;
  /** Bytes in free chunks: fastbins plus the other bins. */
  free: number;
  /** Bytes this arena has from the OS now. */
  system: number;
}

export interface GlibcMallocInfo {
  arenas: GlibcArena[];
  /** Totals after the last heap. */
  free: number;
  mmap: { count: number; size: number };
  system: number;
}

function attr(tag: string, name: string): number {
  const m = new RegExp(`\\b${name}="(\\d+)"`).exec(tag);
  return m ? Number(m[1]) : 0;
}

function totals(section: string): { free: number; mmap: { count: number; size: number }; system: number } {
  let free = 0;
  let system = 0;
  const mmap = { count: 0, size: 0 };
  for (const tag of section.match(/<(total|system)\b[^>]*>/g) ?? []) {
    const type = /type="(\w+)"/.exec(tag)?.[1];
    if (tag.startsWith('<total') && (type === 'fast' || type === 'rest')) free += attr(tag, 'size');
    else if (tag.startsWith('<total') && type === 'mmap') {
      mmap.count = attr(tag, 'count');
      mmap.size = attr(tag, 'size');
    } else if (tag.startsWith('<system') && type === 'current') system = attr(tag, 'size');
  }
  return { free, mmap, system };
}

/**
 * Parses glibc's malloc_info(0, fp): `<heap nr=N>` per arena with
 * `<total type="fast"|"rest">` free chunks and `<system type="current">`,
 * then the same totals for the process plus `<total type="mmap">`. Tags are
 * matched one by one, so elements glibc added over versions (aspace,
 * subheaps, unsorted) are skipped. Free chunks here exclude each arena's top
 * chunk, which mallinfo2's fordblks includes.
 */
export function parseMallocInfo(xml: string): GlibcMallocInfo {
  const arenas: GlibcArena[] = [];
  // indexOf, not /<heap nr="(\d+)">([\s\S]*?)<\/heap>/g: that lazy regex rescans to the
  // end of the text from every unclosed <heap>, quadratic (256 KiB of them: 3 s).
  const open = /<heap nr="(\d+)">/g;
  for (let m = open.exec(xml); m; m = open.exec(xml)) {
    const end = xml.indexOf('</heap>', open.lastIndex);
    if (end < 0) break;
    const t = totals(xml.slice(open.lastIndex, end));
    arenas.push({ nr: Number(m[1]), free: t.free, system: t.system });
    open.lastIndex = end + '</heap>'.length;
  }
  const tail = xml.slice(xml.lastIndexOf('</heap>') >= 0 ? xml.lastIndexOf('</heap>') : 0);
  const t = totals(tail);
  return { arenas, ...t };
}

// --- the evidence ---------------------------------------------------------------------

/** mallinfo2's fields (glibc malloc/malloc.h), in bytes except the counts. */
export interface Mallinfo {
  arena: number;
  ordblks: number;
  smblks: number;
  hblks: number;
  hblkhd: number;
  usmblks: number;
  fsmblks: number;
  uordblks: number;
  fordblks: number;
  keepcost: number;
}

/** What the agent's mallocstats.collect returns. */
export interface AgentMallocReport {
  python: { stats: string | null; unknown?: string };
  allocator: {
    name: string;
    unknown?: string;
    mallinfo?: Mallinfo;
    mallinfo_call?: string;
    malloc_info?: string;
    jemalloc?: Record<string, number>;
    tcmalloc?: Record<string, number>;
    mimalloc?: Record<string, number>;
  };
  tracemalloc_traced: number | null;
  python_version: number[];
  pause_ms: number;
}

/** Everything `memwhy malloc` measured: plain data, to save or analyse. */
export interface MallocEvidence {
  pid: number;
  python_version: string;
  /** /proc/PID/status, read just after the agent's reading. */
  memory: MemorySample;
  mappings: MappingTotals;
  detected: DetectedAllocator;
  python: { stats: PymallocStats | null; unknown?: string; tracemalloc_traced: number | null };
  allocator: {
    name: AllocatorName | 'unknown';
    unknown?: string;
    glibc?: { mallinfo: Mallinfo; call: string; info: GlibcMallocInfo | null };
    jemalloc?: Record<string, number>;
    tcmalloc?: Record<string, number>;
    mimalloc?: Record<string, number>;
  };
  /** How long the agent's reading took inside the target. */
  pause_ms: number;
}

/** Which allocator serves malloc in `pid`, from its maps and environment. */
export function detectTargetAllocator(pid: number): DetectedAllocator {
  return detectAllocator(
    readMaps(pid).map((m) => m.path),
    readEnviron(pid),
  );
}

/** Reads the agent's report into evidence (pure: the agent's reply and /proc readings in). */
export function mallocEvidence(pid: number, memory: MemorySample, maps: readonly SmapsMapping[], detected: DetectedAllocator, report: AgentMallocReport): MallocEvidence {
  const stats = report.python.stats ? parsePymallocStats(report.python.stats) : null;
  const python: MallocEvidence['python'] = { stats, tracemalloc_traced: report.tracemalloc_traced };
  const pyUnknown = report.python.unknown ?? (stats === null ? 'pymalloc statistics could not be read' : undefined);
  if (pyUnknown) python.unknown = pyUnknown;
  const a = report.allocator;
  const allocator: MallocEvidence['allocator'] = { name: detected.name };
  if (a.unknown) allocator.unknown = a.unknown;
  if (a.mallinfo) {
    allocator.glibc = {
      mallinfo: a.mallinfo,
      call: a.mallinfo_call ?? 'mallinfo2',
      info: a.malloc_info ? parseMallocInfo(a.malloc_info) : null,
    };
  }
  if (a.jemalloc) allocator.jemalloc = a.jemalloc;
  if (a.tcmalloc) allocator.tcmalloc = a.tcmalloc;
  if (a.mimalloc) allocator.mimalloc = a.mimalloc;
  return {
    pid,
    python_version: report.python_version.join('.'),
    memory,
    mappings: classifyMappings(maps),
    detected,
    python,
    allocator,
    pause_ms: report.pause_ms,
  };
}

/** Takes one reading through an open agent session. */
export async function collectMalloc(session: OpenedSession): Promise<MallocEvidence> {
  const pid = session.target.pid;
  const detected = detectTargetAllocator(pid);
  // The module's first call imports _ctypes and grows the agent's arena; do
  // that first, then read /proc right after the counters so both see the
  // same heap.
  await session.call('mallocstats.prepare');
  const report = await session.call<AgentMallocReport>('mallocstats.collect', { allocator: detected.name });
  const memory = sampleMemory(pid);
  const maps = readSmapsMappings(pid);
  return mallocEvidence(pid, memory, maps, detected, report);
}

// --- trim ------------------------------------------------------------------------------

/** What the agent's mallocstats.trim returns. */
export interface AgentTrimReport {
  call: string | null;
  result: number | null;
  pause_ms: number | null;
  gc: { collected: number; ms: number } | null;
  unknown?: string;
}

export interface TrimEvidence {
  pid: number;
  allocator: AllocatorName | 'unknown';
  before: MemorySample;
  after: MemorySample;
  /** How long memwhy waited after the call before reading RSS again. */
  settle_ms: number;
  agent: AgentTrimReport;
}

/**
 * Reads RSS, has the allocator give back free memory (after one gc pass if
 * asked), waits `settleMs` and reads RSS again. Both readings are taken with
 * the agent already loaded, so its own memory is not counted as released.
 */
export async function trimThroughAgent(session: OpenedSession, opts: { gc: boolean; settleMs: number }): Promise<TrimEvidence> {
  const pid = session.target.pid;
  const allocator = detectTargetAllocator(pid).name;
  await session.call('mallocstats.prepare');
  const before = sampleMemory(pid);
  const agent = await session.call<AgentTrimReport>('mallocstats.trim', { allocator, collect_garbage: opts.gc });
  await new Promise((resolve) => setTimeout(resolve, opts.settleMs));
  const after = sampleMemory(pid);
  return { pid, allocator, before, after, settle_ms: opts.settleMs, agent };
}
