/**
 * Where CPython keeps its collector's state (struct _gc_runtime_state,
 * Include/internal/pycore_gc.h; internal/mem.h on 3.7) and the offsets of the
 * fields `memwhy watch` exports, x86_64, default build. Offsets in bytes.
 *
 * Source: offsetof()/sizeof() computed from each release's installed headers
 * (3.7.16, 3.8.18, 3.9.18, 3.10.13, 3.11.7, 3.12.1, 3.13.0) by
 * test/cpython/gc_layout_probe.c; test/cpython/gcLayouts.test.ts checks this
 * table against it for every interpreter on the machine. 3.13 publishes
 * `interp.gc` in _Py_DebugOffsets too, which wins at run time.
 *
 * 2.7 and 3.6 keep the same figures in static variables of
 * Modules/gcmodule.c: `generations`, `enabled`, `collecting`, `garbage`, and
 * on 3.6 `generation_stats` (2.7 keeps no per-generation statistics, so it
 * has no gc.get_stats()). They are local symbols with common names, so they
 * are found only where the interpreter ELF keeps its .symtab (pyenv and
 * python.org builds; distribution builds are stripped and get no collector
 * figures), and only among the locals that follow the STT_FILE symbol
 * `gcmodule.c` (ElfFile.fileLocals): never another file's `enabled`.
 * struct gc_generation is {PyGC_Head head; int threshold; int count}:
 * PyGC_Head (Include/objimpl.h) is a union of three words padded to
 * sizeof(long double), 32 bytes; 3.6 also aligns it to long double (16,
 * bpo-27987), so a generation takes 48 bytes, while 2.7.18 keeps 8-byte
 * alignment (`double dummy` plus `char dummy_padding[32]`), 40 bytes. The
 * symbols' sizes agree (generations: 120 bytes on 2.7.18, 144 on 3.6.15;
 * generation_stats: 72), and test/collect/gcMemory.test.ts checks the values
 * read against the target's own gc module.
 */

export interface GcLayout {
  major: number;
  minor: number;
  /** The state is a member of _PyRuntime (3.7, 3.8) or of each PyInterpreterState (3.9+, bpo-36854). */
  home: 'runtime' | 'interpreter';
  /** Offset of the state in its home. */
  offset: number;
  /** Fields of struct _gc_runtime_state. */
  enabled: number;
  /** struct gc_generation generations[3]: {PyGC_Head head; int threshold; int count}. */
  generations: number;
  generationSize: number;
  threshold: number;
  /** Allocations less deallocations since generation 0's last collection; collections of the younger generation for 1 and 2. */
  count: number;
  /** struct gc_generation_stats generation_stats[3]: {collections, collected, uncollectable}, Py_ssize_t each. */
  stats: number;
  statsSize: number;
  collections: number;
  collected: number;
  uncollectable: number;
  /** int collecting: a collection is running. */
  collecting: number;
  /** PyObject *garbage: gc.garbage, a list. */
  garbage: number;
}

/** The collector keeps three generations (NUM_GENERATIONS, pycore_gc.h). */
export const GENERATIONS = 3;

/** 3.8-3.13 share the struct; only where it lives changes. */
const SHARED = {
  enabled: 12,
  generations: 24,
  generationSize: 24,
  threshold: 16,
  count: 20,
  stats: 128,
  statsSize: 24,
  collections: 0,
  collected: 8,
  uncollectable: 16,
  collecting: 200,
  garbage: 208,
};

export const GC_LAYOUTS: readonly GcLayout[] = [
  // 3.7's PyGC_Head is a union padded to long double alignment (32 bytes), so the generations are wider.
  {
    major: 3,
    minor: 7,
    home: 'runtime',
    offset: 320,
    ...SHARED,
    generations: 32,
    generationSize: 48,
    threshold: 32,
    count: 36,
    stats: 240,
    collecting: 312,
    garbage: 320,
  },
  { major: 3, minor: 8, home: 'runtime', offset: 344, ...SHARED },
  { major: 3, minor: 9, home: 'interpreter', offset: 616, ...SHARED },
  { major: 3, minor: 10, home: 'interpreter', offset: 616, ...SHARED },
  { major: 3, minor: 11, home: 'interpreter', offset: 648, ...SHARED },
  { major: 3, minor: 12, home: 'interpreter', offset: 112, ...SHARED },
  { major: 3, minor: 13, home: 'interpreter', offset: 7400, ...SHARED },
];

export function gcLayoutFor(version: { major: number; minor: number }): GcLayout | undefined {
  return GC_LAYOUTS.find((l) => l.major === version.major && l.minor === version.minor);
}

/** 2.7's and 3.6's collector: statics of Modules/gcmodule.c, found by symbol. */
export interface StaticGcLayout {
  major: number;
  minor: number;
  /** struct gc_generation: its size and the offsets of threshold and count in it. */
  generationSize: number;
  threshold: number;
  count: number;
  /** struct gc_generation_stats's size (3.6); undefined on 2.7, which has no generation_stats. */
  statsSize?: number;
}

/** The source file whose locals the statics are, and their names. */
export const GC_STATICS = {
  file: 'gcmodule.c',
  generations: 'generations',
  enabled: 'enabled',
  collecting: 'collecting',
  garbage: 'garbage',
  stats: 'generation_stats',
} as const;

export const STATIC_GC_LAYOUTS: readonly StaticGcLayout[] = [
  { major: 2, minor: 7, generationSize: 40, threshold: 32, count: 36 },
  { major: 3, minor: 6, generationSize: 48, threshold: 32, count: 36, statsSize: 24 },
];

export function staticGcLayoutFor(version: { major: number; minor: number }): StaticGcLayout | undefined {
  return STATIC_GC_LAYOUTS.find((l) => l.major === version.major && l.minor === version.minor);
}
