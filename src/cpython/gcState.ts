/**
 * The collector's figures read straight from a target's memory: what
 * `gc.get_count()`, `gc.get_threshold()`, `gc.get_stats()`, `gc.isenabled()`
 * and `len(gc.garbage)` would return, with no code run in the target. Used by
 * `memwhy watch`, which reads them every few seconds without pausing: each
 * field is one aligned word, so a read while the target runs gives a value
 * the target really held, at worst from a moment earlier or later.
 */
import type { MemorySource } from '../memory/source.js';
import { readDebugOffsets } from './debug-offsets.js';
import { GENERATIONS, type GcLayout, type StaticGcLayout } from './gcLayouts.js';
import type { Layout } from './layouts.js';
import { NotAnObjectError } from './objects.js';

export interface GcGeneration {
  threshold: number;
  /** gc.get_count()'s entry: objects pending (generation 0) or younger collections since this one's last. */
  count: number;
  /** gc.get_stats()'s figures; undefined on 2.7, which keeps none. */
  collections: number | undefined;
  collected: number | undefined;
  uncollectable: number | undefined;
}

export interface GcState {
  enabled: boolean;
  /** A collection was running at the read. */
  collecting: boolean;
  /** Youngest first, as gc.get_stats() lists them. */
  generations: GcGeneration[];
  /** len(gc.garbage); null before the list exists (the gc module not yet imported on 2.7-3.8). */
  garbage: number | null;
}

/** Subinterpreters are prepended to the list: the main interpreter is its last entry. */
const MAX_INTERPRETERS = 256;

/** The address of the main interpreter's struct _gc_runtime_state. */
export function locateGcState(memory: MemorySource, layout: Layout, gc: GcLayout, runtime: bigint): bigint {
  if (layout.head.kind !== 'runtime') throw new Error(`CPython ${layout.major}.${layout.minor} has no _PyRuntime`);
  if (gc.home === 'runtime') return runtime + BigInt(gc.offset);
  return mainInterpreter(memory, layout, runtime) + BigInt(gcOffset(memory, gc, runtime));
}

/** The main interpreter's PyInterpreterState: the last of _PyRuntime's list. */
export function mainInterpreter(memory: MemorySource, layout: Layout, runtime: bigint): bigint {
  if (layout.head.kind !== 'runtime') throw new Error(`CPython ${layout.major}.${layout.minor} has no _PyRuntime`);
  let interp = memory.readPtr(runtime + BigInt(layout.head.offset));
  if (interp === 0n) throw new NotAnObjectError('no interpreter yet (the process is starting or finalizing)');
  for (let hops = 0; hops < MAX_INTERPRETERS; hops++) {
    const next = memory.readPtr(interp + BigInt(layout.interp.next));
    if (next === 0n) break;
    interp = next;
  }
  return interp;
}

/** 3.13+ says where the state is in _Py_DebugOffsets; it wins over the table, as for the stack layouts. */
function gcOffset(memory: MemorySource, gc: GcLayout, runtime: bigint): number {
  if (gc.major === 3 && gc.minor >= 13) {
    const debug = readDebugOffsets(memory, runtime);
    if (debug) return debug.get('interp.gc');
  }
  return gc.offset;
}

/** Reads the state at `address` (from locateGcState); NotAnObjectError when the memory there is not a collector's. */
export function readGcState(memory: MemorySource, gc: GcLayout, address: bigint, listSizeOffset: number): GcState {
  const span = gc.garbage + 8;
  const raw = memory.read(address, span);
  const enabled = raw.readInt32LE(gc.enabled);
  const collecting = raw.readInt32LE(gc.collecting);
  if ((enabled !== 0 && enabled !== 1) || (collecting !== 0 && collecting !== 1)) {
    throw new NotAnObjectError(`no collector state at 0x${address.toString(16)} (enabled ${enabled}, collecting ${collecting})`);
  }
  const generations: GcGeneration[] = [];
  for (let g = 0; g < GENERATIONS; g++) {
    const gen = gc.generations + g * gc.generationSize;
    const stats = gc.stats + g * gc.statsSize;
    generations.push({
      threshold: raw.readInt32LE(gen + gc.threshold),
      count: raw.readInt32LE(gen + gc.count),
      collections: Number(raw.readBigInt64LE(stats + gc.collections)),
      collected: Number(raw.readBigInt64LE(stats + gc.collected)),
      uncollectable: Number(raw.readBigInt64LE(stats + gc.uncollectable)),
    });
  }
  checkCounters(generations, address);
  return { enabled: enabled === 1, collecting: collecting === 1, generations, garbage: garbageLength(memory, raw.readBigUInt64LE(gc.garbage), listSizeOffset) };
}

function checkCounters(generations: GcGeneration[], address: bigint): void {
  const negative = (n: number | undefined): boolean => n !== undefined && n < 0;
  if (generations.some((g) => g.threshold < 0 || negative(g.collections) || negative(g.collected) || negative(g.uncollectable))) {
    throw new NotAnObjectError(`no collector state at 0x${address.toString(16)}: negative counters`);
  }
}

function garbageLength(memory: MemorySource, list: bigint, listSizeOffset: number): number | null {
  const garbage = list === 0n ? null : Number(memory.readI64(list + BigInt(listSizeOffset)));
  if (garbage !== null && garbage < 0) throw new NotAnObjectError(`gc.garbage at 0x${list.toString(16)} is not a list`);
  return garbage;
}

/** Run-time addresses of gcmodule.c's statics (2.7, 3.6); `stats` only where generation_stats exists (3.6). */
export interface GcStaticAddresses {
  generations: bigint;
  enabled: bigint;
  collecting: bigint;
  garbage: bigint;
  stats?: bigint;
}

/** struct gc_generation_stats {Py_ssize_t collections, collected, uncollectable} (3.6's gcmodule.c, as in 3.7+'s headers). */
const STATS = { collections: 0, collected: 8, uncollectable: 16 };

/** The statics read one by one: each is a word or an int, so each value is one the target held. */
export function readStaticGcState(memory: MemorySource, gc: StaticGcLayout, at: GcStaticAddresses, listSizeOffset: number): GcState {
  const enabled = memory.read(at.enabled, 4).readInt32LE(0);
  const collecting = memory.read(at.collecting, 4).readInt32LE(0);
  if ((enabled !== 0 && enabled !== 1) || (collecting !== 0 && collecting !== 1)) {
    throw new NotAnObjectError(`no collector statics at 0x${at.enabled.toString(16)} (enabled ${enabled}, collecting ${collecting})`);
  }
  const gens = memory.read(at.generations, GENERATIONS * gc.generationSize);
  const stats = at.stats !== undefined && gc.statsSize !== undefined ? memory.read(at.stats, GENERATIONS * gc.statsSize) : undefined;
  const generations: GcGeneration[] = [];
  for (let g = 0; g < GENERATIONS; g++) {
    const gen = g * gc.generationSize;
    const st = g * (gc.statsSize ?? 0);
    generations.push({
      threshold: gens.readInt32LE(gen + gc.threshold),
      count: gens.readInt32LE(gen + gc.count),
      collections: stats && Number(stats.readBigInt64LE(st + STATS.collections)),
      collected: stats && Number(stats.readBigInt64LE(st + STATS.collected)),
      uncollectable: stats && Number(stats.readBigInt64LE(st + STATS.uncollectable)),
    });
  }
  checkCounters(generations, at.generations);
  return { enabled: enabled === 1, collecting: collecting === 1, generations, garbage: garbageLength(memory, memory.readPtr(at.garbage), listSizeOffset) };
}
