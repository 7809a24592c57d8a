/**
 * pymalloc's arena counters of a live process read from /proc/PID/mem, with
 * no code run in the target: the second probe `memwhy watch` reads every few
 * seconds. The counters' addresses are found once; on 3.12+ they hang off
 * the main interpreter, which a process read while starting has not got yet,
 * so they are looked for again until found.
 */
import { LiveMemory } from '../memory/live.js';
import { layoutFor } from '../cpython/layouts.js';
import { ARENA_SYMBOLS, arenaLayoutFor, type ArenaLayout } from '../cpython/arenaLayouts.js';
import { interpreterArenaAddresses, readArenas, type ArenaAddresses, type ArenaCounts } from '../cpython/arenaState.js';
import { mainInterpreter } from '../cpython/gcState.js';
import { loadBias } from '../target/elf.js';
import { readMaps } from '../target/proc.js';
import type { PythonTarget } from '../target/python.js';
import { fileKey, openInterpreter, openRuntime } from './gcMemory.js';

export class ArenaMemoryProbe {
  private constructor(
    private readonly memory: LiveMemory,
    private readonly arena: ArenaLayout,
    private addresses: ArenaAddresses | undefined,
    private readonly find: () => ArenaAddresses,
  ) {}

  /**
   * undefined where the counters cannot be found: no layout for the version
   * (2.7), or 3.6-3.11 built without a symbol table; throws UserError when
   * the process cannot be read.
   */
  static open(target: PythonTarget): ArenaMemoryProbe | undefined {
    const arena = arenaLayoutFor(target.version);
    if (!arena) return undefined;
    if (arena.home === 'statics') {
      const at = staticAddresses(target);
      if (!at) return undefined;
      const memory = LiveMemory.open(target.pid);
      return new ArenaMemoryProbe(memory, arena, at, () => at);
    }
    const base = layoutFor(target.version);
    if (!base || base.head.kind !== 'runtime') return undefined;
    const { memory, layout, runtime } = openRuntime(target);
    return new ArenaMemoryProbe(memory, arena, undefined, () => interpreterArenaAddresses(memory, arena, mainInterpreter(memory, layout, runtime)));
  }

  /** One reading; throws when the counters are not there (yet, or any more). */
  read(): ArenaCounts {
    this.addresses ??= this.find();
    return readArenas(this.memory, this.addresses, this.arena.arenaSize);
  }

  close(): void {
    this.memory.close();
  }
}

/** Link-time addresses of the statics per interpreter file, as for _PyRuntime in gcMemory.ts; null: stripped. */
const linkTimeStatics = new Map<string, ArenaAddresses | null>();

function staticAddresses(target: PythonTarget): ArenaAddresses | undefined {
  const elf = openInterpreter(target);
  try {
    const key = fileKey(target.interpreterElf);
    let linked = linkTimeStatics.get(key);
    if (linked === undefined) {
      // size_t each: a symbol of another size with the same name is not ours.
      const [current, total, highwater] = ARENA_SYMBOLS.map((name) => {
        const s = elf.symbol(name);
        return s && s.size === 8n ? s.value : undefined;
      });
      linked = current !== undefined && total !== undefined && highwater !== undefined ? { current, total, highwater } : null;
      linkTimeStatics.set(key, linked);
    }
    if (linked === null) return undefined;
    const bias = loadBias(elf, readMaps(target.pid), target.libpython ?? target.exe);
    return { current: linked.current + bias, total: linked.total + bias, highwater: linked.highwater + bias };
  } finally {
    elf.close();
  }
}
