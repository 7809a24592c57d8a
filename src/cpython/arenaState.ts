/**
 * pymalloc's arena counters read straight from a target's memory: what
 * `sys._debugmallocstats()` prints as "# arenas allocated current / total /
 * highwater mark", with no code run in the target. Each counter is one
 * aligned size_t, so a read while the target runs gives a value it really
 * held; the three are not read atomically together, so they may come from
 * moments apart (one arena's difference at most, in practice).
 */
import type { MemorySource } from '../memory/source.js';
import type { InterpreterArenaLayout } from './arenaLayouts.js';
import { NotAnObjectError } from './objects.js';

export interface ArenaCounts {
  /** Arenas allocated and not yet freed. */
  current: number;
  /** Arenas ever allocated (malloc/mmap calls for an arena). */
  total: number;
  /** The most arenas allocated at once. */
  highwater: number;
  /** Bytes per arena (ARENA_SIZE), so current * arenaSize is the memory arenas hold. */
  arenaSize: number;
}

/** Where the three counters are, current, total, highwater. */
export interface ArenaAddresses {
  current: bigint;
  total: bigint;
  highwater: bigint;
}

/** The counters in an interpreter's obmalloc state (3.12+); `interp` is a PyInterpreterState. */
export function interpreterArenaAddresses(memory: MemorySource, arena: InterpreterArenaLayout, interp: bigint): ArenaAddresses {
  const member = interp + BigInt(arena.obmalloc);
  const state = arena.indirect ? memory.readPtr(member) : member;
  if (state === 0n) throw new NotAnObjectError('the interpreter has no obmalloc state yet');
  return { current: state + BigInt(arena.current), total: state + BigInt(arena.total), highwater: state + BigInt(arena.highwater) };
}

/** More arenas than this (2^32 MiB) means the address held something else. */
const MAX_ARENAS = 2n ** 32n;

export function readArenas(memory: MemorySource, at: ArenaAddresses, arenaSize: number): ArenaCounts {
  const word = (address: bigint): number => {
    const v = memory.read(address, 8).readBigUInt64LE(0);
    if (v >= MAX_ARENAS) throw new NotAnObjectError(`no arena counter at 0x${address.toString(16)} (${v})`);
    return Number(v);
  };
  return { current: word(at.current), total: word(at.total), highwater: word(at.highwater), arenaSize };
}
