/**
 * The collector's counters of a live process read from /proc/PID/mem, with
 * no code run in the target and no pause: the probe `memwhy watch` reads
 * every few seconds. Opened once per process; the interpreter is located
 * again only until it is found (a process read while starting up has none).
 */
import { UserError } from '../errors.js';
import { LiveMemory } from '../memory/live.js';
import { layoutFor, type Layout } from '../cpython/layouts.js';
import { resolveLayout } from '../cpython/locate.js';
import { gcLayoutFor, type GcLayout } from '../cpython/gcLayouts.js';
import { locateGcState, readGcState, type GcState } from '../cpython/gcState.js';
import { statSync } from 'node:fs';
import { ElfFile, loadBias } from '../target/elf.js';
import { readMaps } from '../target/proc.js';
import type { PythonTarget } from '../target/python.js';

export class GcMemoryProbe {
  private address: bigint | undefined;

  private constructor(
    private readonly memory: LiveMemory,
    private readonly layout: Layout,
    private readonly gc: GcLayout,
    private readonly runtime: bigint,
  ) {}

  /**
   * undefined for versions whose collector state memwhy cannot find (2.7,
   * 3.6: see gcLayouts.ts); throws UserError when the process cannot be read.
   */
  static open(target: PythonTarget): GcMemoryProbe | undefined {
    const base = layoutFor(target.version);
    const gc = gcLayoutFor(target.version);
    if (!base || !gc || base.head.kind !== 'runtime') return undefined;
    const runtime = runtimeAddress(target);
    if (runtime === undefined) throw new UserError(`${target.interpreterElf} has no _PyRuntime symbol`);
    const memory = LiveMemory.open(target.pid);
    try {
      return new GcMemoryProbe(memory, resolveLayout(memory, target.version, { runtime }), gc, runtime);
    } catch (err) {
      memory.close();
      throw err;
    }
  }

  /** One reading; throws when the memory does not hold a collector state (yet, or any more). */
  read(): GcState {
    this.address ??= locateGcState(this.memory, this.layout, this.gc, this.runtime);
    return readGcState(this.memory, this.gc, this.address, this.layout.objects.varSize);
  }

  close(): void {
    this.memory.close();
  }
}

/**
 * _PyRuntime's link-time address, per interpreter file: loading a static
 * build's symbol table takes tens of ms, and `watch` meets many processes of
 * one interpreter (a pool of workers, or short-lived scripts). The load bias
 * (program headers only) is each process's own.
 */
const linkTimeRuntime = new Map<string, bigint | null>();

export function runtimeAddress(target: PythonTarget): bigint | undefined {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(target.interpreterElf);
  } catch (err) {
    throw new UserError(`cannot read the interpreter ${target.interpreterElf}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const st = statSync(target.interpreterElf);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
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
