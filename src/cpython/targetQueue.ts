/**
 * A live target's pending-call queue, found from its interpreter's ELF and
 * memory: what the memory transport writes a call into, and where the
 * eval-breaker flags a forked child must clear live (src/agent/fork.py).
 */
import { ElfFile, loadBias } from '../target/elf.js';
import { readMaps } from '../target/proc.js';
import type { PythonTarget } from '../target/python.js';
import { LiveMemory } from '../memory/live.js';
import type { MemorySource } from '../memory/source.js';
import { findInterpreterSymbols, resolveLayout } from './locate.js';
import { layoutFor } from './layouts.js';
import { pendingCallsLayoutFor } from './pendingCalls.js';
import { locatePendingQueue, symbolLookup, QueueNotFound, type PendingQueue } from './pendingQueue.js';

export interface TargetQueue {
  queue: PendingQueue;
  /** A symbol's run-time address in the interpreter's ELF. */
  at: (name: string) => bigint | undefined;
  /** The ELF's load bias in the target. */
  bias: bigint;
}

/**
 * The queue of `target`, whose interpreter ELF and memory the caller opened
 * (and closes). Throws QueueNotFound when this build is not laid out as
 * memwhy knows, NoLayoutError for a version it has no layout for.
 */
export function findTargetQueue(target: PythonTarget, elf: ElfFile, memory: MemorySource): TargetQueue {
  const layout = pendingCallsLayoutFor(target.version);
  const stacks = layoutFor(target.version);
  if (!layout || !stacks) throw new QueueNotFound(`memwhy knows no pending-call queue layout for CPython ${target.version.text}`);
  const bias = loadBias(elf, readMaps(target.pid), target.libpython ?? target.exe);
  const at = symbolLookup(elf, bias);
  const symbols = findInterpreterSymbols(elf, bias, stacks);
  const resolved = resolveLayout(memory, target.version, symbols);
  return { queue: locatePendingQueue(memory, layout, resolved, symbols, at), at, bias };
}

/**
 * Where the flags a forked child must clear live in `target`
 * (PendingQueue.forkReset), or undefined when they cannot be found: the
 * agent then forks as before, and retries once if the child deadlocks.
 */
export function forkResetOf(target: PythonTarget): PendingQueue['forkReset'] {
  let elf: ElfFile | undefined;
  let memory: LiveMemory | undefined;
  try {
    elf = ElfFile.open(target.interpreterElf);
    memory = LiveMemory.open(target.pid);
    return findTargetQueue(target, elf, memory).queue.forkReset;
  } catch {
    return undefined;
  } finally {
    memory?.close();
    elf?.close();
  }
}
