/** The stacks probe on a core file: the memory reader of liveStacks.ts over the core's memory. */
import { performance } from 'node:perf_hooks';
import { CoreMemory } from '../memory/core.js';
import { layoutFor } from '../cpython/layouts.js';
import { NoLayoutError, readInterpreterSymbols, resolveLayout } from '../cpython/locate.js';
import { locateInterpreterInCore } from '../cpython/locateCore.js';
import { pthreadTidOffset } from '../cpython/pthread.js';
import { StackReader } from '../cpython/stacks.js';
import type { StacksEvidence } from './stackTypes.js';
import { sortThreads, threadTid, toThreadStack } from './threadStacks.js';
import { round3 } from '../util/units.js';

export interface CoreStacksOptions {
  /** The interpreter ELF (python executable or libpython) to take symbols from, when the core's path does not reach it. */
  exe?: string;
  locals?: boolean;
}

/** Stacks from a core file: the same reader over the core's memory. */
export function collectCoreStacks(corePath: string, options: CoreStacksOptions = {}): StacksEvidence {
  const core = CoreMemory.open(corePath);
  try {
    const maps = core.mappings();
    const { elfPath, mappedPath, version } = locateInterpreterInCore(core, maps, options.exe);
    const base = layoutFor(version);
    if (!base) throw new NoLayoutError(version.text);
    const symbols = readInterpreterSymbols(elfPath, maps, mappedPath, base);
    const layout = resolveLayout(core, version, symbols);
    const tidOffset = pthreadTidOffset(maps, (p) => p);
    const started = performance.now();
    const threads = new StackReader(core, layout, symbols, { locals: options.locals ?? false }).threads();
    const readMs = performance.now() - started;
    const known = new Set(core.threads);
    return {
      pid: core.pid,
      version: version.text,
      source: 'core',
      pause_ms: 0,
      read_ms: round3(readMs),
      core: corePath,
      native: false,
      warnings: [],
      threads: sortThreads(threads.map((t) => toThreadStack(t, threadTid(core, layout, t, tidOffset, known), null, 'unknown'))),
    };
  } finally {
    core.close();
  }
}
