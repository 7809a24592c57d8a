/**
 * Runs one workload under several allocators, one run at a time, and samples
 * each run's RSS: the measurement behind `memwhy compare`. Repeats are
 * interleaved (all allocators, then all again) so a machine that slows down
 * over time does not favour the allocators that ran first.
 */
import type { StdioOptions } from 'node:child_process';
import type { RunEvidence } from '../analyze/compare.js';
import { UserError } from '../errors.js';
import { ALLOCATOR_NAMES, allocatorEnv, isAllocatorName, locateAllocator, type AllocatorEnv, type AllocatorName, type Env, type GlibcSettings } from './allocators.js';
import { superviseChild } from './supervise.js';
import { round3 } from '../util/units.js';

export interface AllocatorSetup {
  /** The name in tables and JSON: "jemalloc", "glibc-arena2". */
  label: string;
  allocator: AllocatorName;
  settings: GlibcSettings;
}

/**
 * glibc with arena_max=2 stands for the usual fix short of changing allocator
 * (mozilla-services push-service #79: MALLOC_ARENA_MAX=2 cut RSS 20-33 %).
 */
export const DEFAULT_SETUPS: readonly string[] = ['glibc', 'glibc-arena2', 'jemalloc', 'tcmalloc', 'mimalloc'];

/** "jemalloc", or "glibc-arenaN" for glibc with arena_max=N. */
export function parseSetup(label: string): AllocatorSetup {
  const arena = /^glibc-arena(\d+)$/.exec(label);
  if (arena && Number(arena[1]) >= 1) return { label, allocator: 'glibc', settings: { arenaMax: Number(arena[1]) } };
  if (isAllocatorName(label)) return { label, allocator: label, settings: {} };
  throw new UserError(`unknown allocator "${label}": choose from ${[...ALLOCATOR_NAMES, 'glibc-arenaN'].join(', ')}`);
}

export interface PreparedSetup extends AllocatorSetup {
  env: AllocatorEnv;
}

export interface Prepared {
  ready: PreparedSetup[];
  /** Setups left out, with the line that says how to install them. */
  missing: { label: string; reason: string }[];
}

export function prepareSetups(setups: readonly AllocatorSetup[], baseEnv: Env, dirs?: readonly string[]): Prepared {
  const ready: PreparedSetup[] = [];
  const missing: Prepared['missing'] = [];
  for (const setup of setups) {
    try {
      const choice = locateAllocator(setup.allocator, dirs);
      ready.push({ ...setup, env: allocatorEnv(choice, setup.settings, baseEnv) });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      missing.push({ label: setup.label, reason: err.message });
    }
  }
  return { ready, missing };
}

export type CompareProgress =
  { kind: 'start'; index: number; total: number; setup: PreparedSetup } | { kind: 'done'; index: number; total: number; setup: PreparedSetup; run: RunEvidence; timedOut: boolean };

export interface CompareOptions {
  command: readonly string[];
  repeat: number;
  intervalS: number;
  timeoutS: number;
  /** Where the workload's stdin, stdout and stderr go. */
  stdio: StdioOptions;
  onProgress?: (event: CompareProgress) => void;
}

export interface Comparison {
  runs: RunEvidence[];
  /** The signal that stopped the series early (passed on to the run in progress). */
  interrupted?: NodeJS.Signals;
}

export async function runComparison(setups: readonly PreparedSetup[], opts: CompareOptions): Promise<Comparison> {
  const runs: RunEvidence[] = [];
  const total = setups.length * opts.repeat;
  let index = 0;
  for (let round = 0; round < opts.repeat; round++) {
    for (const setup of setups) {
      index++;
      opts.onProgress?.({ kind: 'start', index, total, setup });
      const result = await superviseChild({
        command: opts.command,
        env: setup.env.env,
        stdio: opts.stdio,
        intervalS: opts.intervalS,
        timeoutS: opts.timeoutS,
      });
      const last = result.samples[result.samples.length - 1];
      const run: RunEvidence = {
        allocator: setup.label,
        exit_code: result.exitCode,
        wall_s: round3(result.wallS),
        samples: result.samples.map((s) => [round3(s.t), s.rss] as const),
        hwm: last?.hwm ?? 0,
      };
      runs.push(run);
      opts.onProgress?.({ kind: 'done', index, total, setup, run, timedOut: result.timedOut });
      const signal = result.forwarded[0];
      if (signal) return { runs, interrupted: signal };
    }
  }
  return { runs };
}
