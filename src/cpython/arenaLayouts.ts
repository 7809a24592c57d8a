/**
 * Where CPython keeps pymalloc's arena counters (Objects/obmalloc.c), the
 * figures `sys._debugmallocstats()` prints as "# arenas allocated current",
 * "# arenas allocated total" and "# arenas highwater mark", x86_64, default
 * build. Offsets in bytes.
 *
 * 3.6-3.11: file statics `narenas_currently_allocated`,
 * `ntimes_arena_allocated`, `narenas_highwater` (size_t). They are local
 * symbols, so they are found only when the interpreter ELF keeps its .symtab
 * (pyenv and python.org builds do; distribution builds such as Debian's
 * /usr/bin/python3.11 are stripped, and get no arena figures).
 *
 * 3.12+: the same names are fields of struct _obmalloc_mgmt, inside struct
 * _obmalloc_state (Include/internal/pycore_obmalloc.h), which is inline in
 * PyInterpreterState on 3.12 and pointed to by it on 3.13 (the main
 * interpreter's is the static obmalloc_state_main). Offsets computed from
 * 3.12.1's and 3.13.0's installed headers by test/cpython/arena_layout_probe.c;
 * test/cpython/arenaLayouts.test.ts checks them for every interpreter on the
 * machine.
 *
 * Arena size: ARENA_SIZE, 256 KiB up to 3.9, 1 MiB from 3.10 on 64-bit
 * (USE_LARGE_ARENAS with the radix tree, bpo-37448). The test checks it
 * against the "N arenas * S bytes/arena" line of sys._debugmallocstats().
 *
 * 2.7 keeps only `narenas_currently_allocated` and has no
 * sys._debugmallocstats() to check it against, so it is not read.
 */

export interface StaticArenaLayout {
  major: number;
  minor: number;
  home: 'statics';
  arenaSize: number;
}

export interface InterpreterArenaLayout {
  major: number;
  minor: number;
  home: 'interpreter';
  arenaSize: number;
  /** Offset of PyInterpreterState.obmalloc. */
  obmalloc: number;
  /** The member is a pointer to the state (3.13) rather than the state itself (3.12). */
  indirect: boolean;
  /** Offsets in struct _obmalloc_state of mgmt's three counters. */
  current: number;
  total: number;
  highwater: number;
}

export type ArenaLayout = StaticArenaLayout | InterpreterArenaLayout;

/** The statics' names, in the order current, total, highwater. */
export const ARENA_SYMBOLS = ['narenas_currently_allocated', 'ntimes_arena_allocated', 'narenas_highwater'] as const;

const KIB = 1024;
const SMALL = 256 * KIB;
const LARGE = 1024 * KIB;
const MGMT = { current: 1064, total: 1072, highwater: 1080 };

export const ARENA_LAYOUTS: readonly ArenaLayout[] = [
  { major: 3, minor: 6, home: 'statics', arenaSize: SMALL },
  { major: 3, minor: 7, home: 'statics', arenaSize: SMALL },
  { major: 3, minor: 8, home: 'statics', arenaSize: SMALL },
  { major: 3, minor: 9, home: 'statics', arenaSize: SMALL },
  { major: 3, minor: 10, home: 'statics', arenaSize: LARGE },
  { major: 3, minor: 11, home: 'statics', arenaSize: LARGE },
  { major: 3, minor: 12, home: 'interpreter', arenaSize: LARGE, obmalloc: 3960, indirect: false, ...MGMT },
  { major: 3, minor: 13, home: 'interpreter', arenaSize: LARGE, obmalloc: 10800, indirect: true, ...MGMT },
];

export function arenaLayoutFor(version: { major: number; minor: number }): ArenaLayout | undefined {
  return ARENA_LAYOUTS.find((l) => l.major === version.major && l.minor === version.minor);
}
