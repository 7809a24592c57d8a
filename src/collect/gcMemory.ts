/**
 * The collector's counters of a live process read from /proc/PID/mem, with
 * no code run in the target and no pause: the probe `memwhy watch` reads
 * every few seconds. Opened once per process; the interpreter is located
 * again only until it is found (a process read while starting up has none).
 * 3.7+ through _PyRuntime and the layout table, 2.7 and 3.6 through
 * gcmodule.c's statics where the interpreter ELF keeps its symbol table.
 */
import { UserError } from '../errors.js';
import { LiveMemory } from '../memory/live.js';
import { layoutFor, type Layout } from '../cpython/layouts.js';
import { resolveLayout } from '../cpython/locate.js';
import { GC_STATICS, GENERATIONS, gcLayoutFor, staticGcLayoutFor, type StaticGcLayout } from '../cpython/gcLayouts.js';
import { locateGcState, readGcState, readStaticGcState, type GcStaticAddresses, type GcState } from '../cpython/gcState.js';
import { statSync } from 'node:fs';
import { ElfFile, loadBias } from '../target/elf.js';
import { readMaps } from '../target/proc.js';
import type { PythonTarget } from '../target/python.js';

export class GcMemoryProbe {
  private constructor(
    private readonly memory: LiveMemory,
    /** One reading. */
    readonly read: () => GcState,
  ) {}

  /**
   * undefined where memwhy cannot find the collector: no layout for the
   * version, or 2.7/3.6 built without a symbol table (see gcLayouts.ts);
   * throws UserError when the process cannot be read.
   */
  static open(target: PythonTarget): GcMemoryProbe | undefined {
    const base = layoutFor(target.version);
    if (!base) return undefined;
    const statics = staticGcLayoutFor(target.version);
    if (statics) {
      const at = staticAddresses(target, statics);
      if (!at) return undefined;
      const memory = LiveMemory.open(target.pid);
      return new GcMemoryProbe(memory, () => readStaticGcState(memory, statics, at, base.objects.varSize));
    }
    const gc = gcLayoutFor(target.version);
    if (!gc || base.head.kind !== 'runtime') return undefined;
    const { memory, layout, runtime } = openRuntime(target);
    // The state's address is found once; a process read while starting up has no interpreter yet, so until then each read looks again.
    let address: bigint | undefined;
    return new GcMemoryProbe(memory, () => {
      address ??= locateGcState(memory, layout, gc, runtime);
      return readGcState(memory, gc, address, layout.objects.varSize);
    });
  }

  close(): void {
    this.memory.close();
  }
}

/** Link-time addresses of gcmodule.c's statics per interpreter file, as for _PyRuntime below; null: not all found (stripped). */
const linkTimeStatics = new Map<string, GcStaticAddresses | null>();

function staticAddresses(target: PythonTarget, gc: StaticGcLayout): GcStaticAddresses | undefined {
  const elf = openInterpreter(target);
  try {
    const key = fileKey(target.interpreterElf);
    let linked = linkTimeStatics.get(key);
    if (linked === undefined) {
      linked = findStatics(elf, gc) ?? null;
      linkTimeStatics.set(key, linked);
    }
    if (linked === null) return undefined;
    const bias = loadBias(elf, readMaps(target.pid), target.libpython ?? target.exe);
    const { generations, enabled, collecting, garbage, stats } = linked;
    return {
      generations: generations + bias,
      enabled: enabled + bias,
      collecting: collecting + bias,
      garbage: garbage + bias,
      ...(stats !== undefined ? { stats: stats + bias } : {}),
    };
  } finally {
    elf.close();
  }
}

/** gcmodule.c's locals, each of the size its declaration gives: a symbol of another size is not the static we know. */
export function findStatics(elf: ElfFile, gc: StaticGcLayout): GcStaticAddresses | undefined {
  const locals = elf.fileLocals(GC_STATICS.file);
  const sized = (name: string, size: number): bigint | undefined => {
    const s = locals.get(name);
    return s && s.size === BigInt(size) ? s.value : undefined;
  };
  const generations = sized(GC_STATICS.generations, GENERATIONS * gc.generationSize);
  const enabled = sized(GC_STATICS.enabled, 4);
  const collecting = sized(GC_STATICS.collecting, 4);
  const garbage = sized(GC_STATICS.garbage, 8);
  const stats = gc.statsSize === undefined ? undefined : sized(GC_STATICS.stats, GENERATIONS * gc.statsSize);
  if (generations === undefined || enabled === undefined || collecting === undefined || garbage === undefined) return undefined;
  if (gc.statsSize !== undefined && stats === undefined) return undefined;
  return { generations, enabled, collecting, garbage, ...(stats !== undefined ? { stats } : {}) };
}

export function openInterpreter(target: PythonTarget): ElfFile {
  try {
    return ElfFile.open(target.interpreterElf);
  } catch (err) {
    throw new UserError(`cannot read the interpreter ${target.interpreterElf}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** An interpreter file's identity for the per-file caches of link-time addresses. */
export function fileKey(path: string): string {
  const st = statSync(path);
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * _PyRuntime's link-time address, per interpreter file: loading a static
 * build's symbol table takes tens of ms, and `watch` meets many processes of
 * one interpreter (a pool of workers, or short-lived scripts). The load bias
 * (program headers only) is each process's own.
 */
const linkTimeRuntime = new Map<string, bigint | null>();

/** The target's memory with the interpreter's layout resolved from _PyRuntime (3.7+); the memory is closed when the layout cannot be. */
export function openRuntime(target: PythonTarget): { memory: LiveMemory; layout: Layout; runtime: bigint } {
  const runtime = runtimeAddress(target);
  if (runtime === undefined) throw new UserError(`${target.interpreterElf} has no _PyRuntime symbol`);
  const memory = LiveMemory.open(target.pid);
  try {
    return { memory, layout: resolveLayout(memory, target.version, { runtime }), runtime };
  } catch (err) {
    memory.close();
    throw err;
  }
}

export function runtimeAddress(target: PythonTarget): bigint | undefined {
  const elf = openInterpreter(target);
  try {
    const key = fileKey(target.interpreterElf);
    let linked = linkTimeRuntime.get(key);
    if (linked === undefined) {
      linked = elf.symbol('_PyRuntime')?.value ?? null;
      linkTimeRuntime.set(key, linked);
    }
    return linked === null ? undefined : linked + loadBias(elf, readMaps(target.pid), target.libpython ?? target.exe);
  } finally {
    elf.close();
  }
}
