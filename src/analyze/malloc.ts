/**
 * What `memwhy malloc` and `memwhy trim` report, derived from their
 * evidence: the RSS breakdown by allocator, the retention finding (memory
 * the program freed that the allocators hold on to), and what a trim gave
 * back. Pure: evidence in, numbers and findings out.
 */
import type { GlibcArena, MallocEvidence, TrimEvidence } from '../collect/malloc.js';
import { formatBytes } from '../util/units.js';

/** A finding: what one signal says, with the numbers that decided it. */
export interface Finding {
  signal: string;
  status: 'issue' | 'none' | 'insufficient-data';
  summary: string;
  numbers: Record<string, number | null>;
}

export interface PythonFigures {
  /** Bytes in pymalloc blocks that hold objects; null when pymalloc is not measured. */
  live: number | null;
  /** Free blocks inside pymalloc's pools in use: resident, reusable only by small objects. */
  free: number | null;
  /** Whole unused pools inside arenas (some never touched, so not all resident). */
  unused_pools: number | null;
  arenas: number | null;
  arena_size: number | null;
  arena_bytes: number | null;
  /**
   * Python objects over 512 bytes come from the C allocator and have no
   * counter of their own: they are inside allocator.in_use. Only a running
   * tracemalloc sees them (python_in_malloc below).
   */
  large_objects: null;
  tracemalloc_traced: number | null;
  unknown?: string;
}

export interface AllocatorFigures {
  name: string;
  library?: string;
  /** How memwhy knows which allocator serves malloc (see DetectedAllocator.via). */
  via: string;
  /** Bytes in live allocations. */
  in_use: number | null;
  /** Bytes in free chunks or pages the allocator holds, from its own counters. */
  free: number | null;
  /** Of `free`, what is still resident (glibc: its heaps' RSS minus bytes in use). */
  free_resident: number | null;
  /** Bytes the allocator has from the OS. */
  system: number | null;
  arenas: number | null;
  /** Chunks served by their own mmap (glibc: requests over the mmap threshold). */
  mmapped: { count: number; bytes: number } | null;
  per_arena?: GlibcArena[];
  /** Where the numbers come from: "mallinfo2, malloc_info, smaps". */
  source: string;
  /** The allocator's own counters, as read. */
  counters: Record<string, number>;
  unknown?: string;
}

export interface MallocBreakdown {
  pid: number;
  python_version: string;
  rss: number;
  anon: number;
  file: number;
  shmem: number;
  swap: number | null;
  stacks: { threads: number; thread_rss: number; main_rss: number };
  python: PythonFigures;
  allocator: AllocatorFigures;
  derived: {
    /** Free memory the allocators hold and that is resident: allocator.free_resident + python.free. */
    held_free: number | null;
    /** held_free / rss. */
    retention: number | null;
    /** Everything served by malloc and in use: allocator.in_use (Python objects over 512 B included). */
    native_in_use: number | null;
    /** Python's allocations served by malloc, by tracemalloc: traced minus pymalloc's live bytes; null without tracemalloc. */
    python_in_malloc: number | null;
    /** native_in_use minus python_in_malloc: malloc memory no Python object accounts for; null without tracemalloc. */
    native_outside_python: number | null;
    /** Anonymous RSS minus stacks, pymalloc's arenas and the C allocator's resident memory; may be negative (estimates). */
    other_anon: number | null;
  };
  finding: Finding;
  pause_ms: number;
}

function allocatorFigures(e: MallocEvidence): AllocatorFigures {
  const a = e.allocator;
  const base = {
    name: a.name,
    ...(e.detected.library ? { library: e.detected.library } : {}),
    via: e.detected.via,
    ...(a.unknown ? { unknown: a.unknown } : {}),
  };
  const none = { in_use: null, free: null, free_resident: null, system: null, arenas: null, mmapped: null };
  if (a.glibc) {
    const mi = a.glibc.mallinfo;
    const heaps = e.mappings.glibc_heaps;
    // mallinfo's fordblks does not drop when malloc_trim gives pages back
    // (MADV_DONTNEED keeps the chunks free), so the resident part is what
    // the heaps' RSS leaves after the bytes in use (NOTES, "Allocators").
    const freeResident = heaps.count > 0 ? clamp(heaps.rss - mi.uordblks, 0, mi.fordblks) : mi.fordblks;
    return {
      ...base,
      in_use: mi.uordblks + mi.hblkhd,
      free: mi.fordblks,
      free_resident: freeResident,
      system: mi.arena + mi.hblkhd,
      arenas: a.glibc.info ? a.glibc.info.arenas.length : null,
      mmapped: { count: mi.hblks, bytes: mi.hblkhd },
      ...(a.glibc.info ? { per_arena: a.glibc.info.arenas } : {}),
      source: `${a.glibc.call}${a.glibc.info ? ', malloc_info' : ''}${heaps.count > 0 ? ', smaps' : ''}`,
      counters: { ...mi },
    };
  }
  if (a.jemalloc) {
    const j = a.jemalloc;
    const allocated = j['stats.allocated'];
    const resident = j['stats.resident'];
    // stats.resident counts metadata, pages of live allocations and dirty
    // pages not yet purged (jemalloc(3)); what is neither metadata nor
    // allocated is free memory jemalloc holds.
    const free = allocated !== undefined && resident !== undefined ? Math.max(0, resident - allocated - (j['stats.metadata'] ?? 0)) : null;
    return {
      ...base,
      in_use: allocated ?? null,
      free,
      free_resident: free,
      system: j['stats.mapped'] ?? null,
      arenas: j['arenas.narenas'] ?? null,
      mmapped: null,
      source: 'mallctl stats.*',
      counters: { ...j },
    };
  }
  if (a.tcmalloc) {
    const t = a.tcmalloc;
    const allocated = t['generic.current_allocated_bytes'];
    const heap = t['generic.heap_size'];
    const unmapped = t['tcmalloc.pageheap_unmapped_bytes'] ?? 0;
    // heap_size counts what tcmalloc reserved, unmapped (released) pages included.
    const free = allocated !== undefined && heap !== undefined ? Math.max(0, heap - allocated - unmapped) : null;
    return {
      ...base,
      in_use: allocated ?? null,
      free,
      free_resident: free,
      system: heap !== undefined ? heap - unmapped : null,
      arenas: null,
      mmapped: null,
      source: 'MallocExtension_GetNumericProperty',
      counters: { ...t },
    };
  }
  if (a.mimalloc) {
    const m = a.mimalloc;
    return {
      ...base,
      ...none,
      system: m.current_commit ?? null,
      source: 'mi_process_info',
      counters: { ...m },
    };
  }
  return { ...base, ...none, source: 'none', counters: {} };
}

function pythonFigures(e: MallocEvidence): PythonFigures {
  const s = e.python.stats;
  return {
    live: s ? s.allocated : null,
    free: s ? s.available : null,
    unused_pools: s ? s.unused_pools : null,
    arenas: s ? s.arenas : null,
    arena_size: s ? s.arena_size : null,
    arena_bytes: s ? s.arena_bytes : null,
    large_objects: null,
    tracemalloc_traced: e.python.tracemalloc_traced,
    ...(e.python.unknown ? { unknown: e.python.unknown } : {}),
  };
}

/** Resident memory the C allocator accounts for: what `other_anon` subtracts. */
function allocatorResident(e: MallocEvidence, a: AllocatorFigures): number | null {
  if (a.name === 'glibc' && e.allocator.glibc && e.mappings.glibc_heaps.count > 0) {
    return e.mappings.glibc_heaps.rss + e.allocator.glibc.mallinfo.hblkhd;
  }
  if (a.in_use !== null && a.free_resident !== null) return a.in_use + a.free_resident;
  // mimalloc's commit charge includes pages never touched: not a resident figure.
  return null;
}

export function breakdownMalloc(e: MallocEvidence): MallocBreakdown {
  const python = pythonFigures(e);
  const allocator = allocatorFigures(e);
  const m = e.memory;
  const stacks = {
    threads: e.mappings.thread_stacks.count,
    thread_rss: e.mappings.thread_stacks.rss,
    main_rss: e.mappings.main_stack_rss,
  };
  const heldFree = allocator.free_resident === null ? null : allocator.free_resident + (python.free ?? 0);
  const pythonInMalloc = python.tracemalloc_traced !== null && python.live !== null ? Math.max(0, python.tracemalloc_traced - python.live) : null;
  const resident = allocatorResident(e, allocator);
  const derived: MallocBreakdown['derived'] = {
    held_free: heldFree,
    retention: heldFree !== null && m.rss > 0 ? heldFree / m.rss : null,
    native_in_use: allocator.in_use,
    python_in_malloc: pythonInMalloc,
    native_outside_python: allocator.in_use !== null && pythonInMalloc !== null ? allocator.in_use - pythonInMalloc : null,
    other_anon: resident === null ? null : m.anon - stacks.thread_rss - stacks.main_rss - (python.arena_bytes ?? 0) - resident,
  };
  const partial: Omit<MallocBreakdown, 'finding'> = {
    pid: e.pid,
    python_version: e.python_version,
    rss: m.rss,
    anon: m.anon,
    file: m.file,
    shmem: m.shmem,
    swap: m.swap,
    stacks,
    python,
    allocator,
    derived,
    pause_ms: e.pause_ms,
  };
  return { ...partial, finding: retentionFinding(partial) };
}

/**
 * Retention is an issue when the allocators hold at least this share of RSS
 * free... Measured (Debian 12, glibc 2.36): workloads/fragment.py with 4
 * threads held 191 MiB free in a 206 MiB RSS (93 %), 240 MiB of 258 MiB
 * (93 %) under jemalloc, 63 of 81 MiB (78 %) under tcmalloc; idle
 * interpreters 2.7 to 3.13 hold 1-10 % of 10-14 MiB.
 */
export const RETENTION_SHARE = 0.3;
/**
 * ...and at least this much: the fragmented process after malloc_trim still
 * showed 8.8 MiB free in 25 MiB (34 %), normal slack for a small process.
 */
export const RETENTION_MIN_BYTES = 32 * 1024 * 1024;

export function retentionFinding(b: Omit<MallocBreakdown, 'finding'>): Finding {
  const numbers = {
    rss: b.rss,
    held_free: b.derived.held_free,
    allocator_free_resident: b.allocator.free_resident,
    pymalloc_free: b.python.free,
    retention: b.derived.retention,
    share_threshold: RETENTION_SHARE,
    bytes_threshold: RETENTION_MIN_BYTES,
  };
  const held = b.derived.held_free;
  if (held === null || b.derived.retention === null) {
    return {
      signal: 'retention',
      status: 'insufficient-data',
      summary: `memwhy cannot tell how much free memory ${b.allocator.name} holds${b.allocator.unknown ? `: ${b.allocator.unknown}` : ''}`,
      numbers,
    };
  }
  const issue = b.derived.retention >= RETENTION_SHARE && held >= RETENTION_MIN_BYTES;
  const holders = b.python.free !== null && b.python.free > 0 ? `${b.allocator.name} and pymalloc hold` : `${b.allocator.name} holds`;
  const share = `${(b.derived.retention * 100).toFixed(0)} % of RSS`;
  const summary = issue
    ? `${holders} ${formatBytes(held)} free (${share}): memory the program freed and the allocator kept instead of giving it back to the OS`
    : `${holders} ${formatBytes(held)} free (${share}), under the ${(RETENTION_SHARE * 100).toFixed(0)} % and ${formatBytes(RETENTION_MIN_BYTES)} that make it an issue`;
  return { signal: 'retention', status: issue ? 'issue' : 'none', summary, numbers };
}

export interface TrimSummary {
  pid: number;
  allocator: string;
  call: string | null;
  rss_before: number;
  rss_after: number;
  /** rss_before - rss_after: negative if the target grew meanwhile. */
  released: number;
  released_share: number;
  /** How long the allocator call took inside the target. */
  pause_ms: number | null;
  gc: { collected: number; ms: number } | null;
  anon_before: number;
  anon_after: number;
  settle_ms: number;
  unknown?: string;
}

export function summarizeTrim(t: TrimEvidence): TrimSummary {
  const released = t.before.rss - t.after.rss;
  return {
    pid: t.pid,
    allocator: t.allocator,
    call: t.agent.call,
    rss_before: t.before.rss,
    rss_after: t.after.rss,
    released,
    released_share: t.before.rss > 0 ? released / t.before.rss : 0,
    pause_ms: t.agent.pause_ms,
    gc: t.agent.gc,
    anon_before: t.before.anon,
    anon_after: t.after.anon,
    settle_ms: t.settle_ms,
    ...(t.agent.unknown ? { unknown: t.agent.unknown } : {}),
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
