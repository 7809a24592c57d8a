/**
 * psutil's view of a process's memory, read from /proc without attaching:
 * one sample (`sampleMemory`) or a timed series (`watchMemory`).
 *
 * rss/anon/file/shmem and threads come from /proc/PID/status, which anyone
 * may read. pss, uss, swap and swap_pss come from /proc/PID/smaps_rollup and
 * the fd count from /proc/PID/fd; the kernel guards those with a ptrace
 * access check, so for a process we may not inspect they are null rather
 * than an error.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isDenied, isGone, parseSmapsTotals, parseStatus, procError, procPath, TargetExitedError, type SmapsTotals } from '../target/proc.js';
import { sleep } from '../util/sleep.js';

export interface MemorySample {
  /** When the sample was taken, ms since the epoch. */
  t: number;
  /** Sizes in bytes. */
  rss: number;
  pss: number | null;
  /** Unique set size: memory freed if the process exited (Private_Clean + Private_Dirty). */
  uss: number | null;
  anon: number;
  file: number;
  shmem: number;
  swap: number | null;
  swap_pss: number | null;
  threads: number;
  /** Open file descriptors. */
  fds: number | null;
}

let rollupSupported: boolean | undefined;

/** Whether this kernel has smaps_rollup; asked of our own process, which always exists. */
function kernelHasSmapsRollup(): boolean {
  rollupSupported ??= existsSync('/proc/self/smaps_rollup');
  return rollupSupported;
}

/**
 * Reads a file that the kernel guards with a ptrace access check: null when
 * we may not, TargetExitedError when the process is gone.
 */
function readGuarded<T>(pid: number, file: string, read: () => T): T | null {
  try {
    return read();
  } catch (err) {
    if (isGone(err)) throw new TargetExitedError(pid);
    if (isDenied(err)) return null;
    throw procError(pid, file, err);
  }
}

function readSmaps(pid: number): SmapsTotals | null {
  const file = kernelHasSmapsRollup() ? 'smaps_rollup' : 'smaps';
  return readGuarded(pid, file, () => parseSmapsTotals(readFileSync(procPath(pid, file), 'utf8')));
}

/** Takes one sample. Throws TargetExitedError if the process is gone or a zombie. */
export function sampleMemory(pid: number): MemorySample {
  const t = performance.timeOrigin + performance.now();
  let statusText: string;
  try {
    statusText = readFileSync(procPath(pid, 'status'), 'utf8');
  } catch (err) {
    if (isGone(err)) throw new TargetExitedError(pid);
    throw procError(pid, 'status', err);
  }
  const status = parseStatus(statusText);
  // A zombie keeps its /proc entry until its parent reaps it, but its memory is gone.
  if (status.state.startsWith('Z') || status.state.startsWith('X')) throw new TargetExitedError(pid);
  const smaps = readSmaps(pid);
  const fds = readGuarded(pid, 'fd', () => readdirSync(procPath(pid, 'fd')).length);
  return {
    t: Math.round(t),
    rss: status.vmRss,
    pss: smaps ? smaps.pss : null,
    uss: smaps ? smaps.privateClean + smaps.privateDirty : null,
    anon: status.rssAnon,
    file: status.rssFile,
    shmem: status.rssShmem,
    swap: smaps ? smaps.swap : null,
    swap_pss: smaps ? smaps.swapPss : null,
    threads: status.threads,
    fds,
  };
}

export interface WatchOptions {
  intervalS: number;
  /** 0 takes a single sample. */
  durationS: number;
  onSample?: (sample: MemorySample, index: number) => void;
  /** Called once if the target exits after the first sample; the samples so far are returned. */
  onExit?: (pid: number) => void;
  /** Aborting stops sampling and returns the samples so far. */
  signal?: AbortSignal;
}

/**
 * Samples at start + k·interval for k = 0..⌊duration/interval⌋, on a fixed
 * schedule so timer lateness does not add up. If sampling falls more than
 * a tick behind, the missed ticks are dropped so the run still ends on time
 * and still takes its last sample.
 * A target that is gone before the first sample is an error; one that exits
 * later ends the watch with what was gathered.
 */
export async function watchMemory(pid: number, opts: WatchOptions): Promise<MemorySample[]> {
  if (!(opts.intervalS > 0)) throw new RangeError(`watchMemory: intervalS must be > 0, got ${opts.intervalS}`);
  const intervalMs = opts.intervalS * 1000;
  // The epsilon keeps 2 s / 100 ms at 20 ticks despite binary fractions.
  const lastTick = opts.durationS > 0 ? Math.floor(opts.durationS / opts.intervalS + 1e-9) : 0;
  const start = performance.now();
  const samples: MemorySample[] = [];
  let tick = 0;
  while (!opts.signal?.aborted) {
    let sample: MemorySample;
    try {
      sample = sampleMemory(pid);
    } catch (err) {
      if (err instanceof TargetExitedError && samples.length > 0) {
        opts.onExit?.(pid);
        break;
      }
      throw err;
    }
    samples.push(sample);
    opts.onSample?.(sample, samples.length - 1);
    if (tick === lastTick) break;
    // A tick whose time has already passed is taken at once; older ones are dropped.
    const passed = Math.floor((performance.now() - start) / intervalMs);
    tick = Math.min(Math.max(tick + 1, passed), lastTick);
    // Node's timers may fire up to a millisecond early; wait out the rest so samples land on their tick.
    const due = start + tick * intervalMs;
    while (performance.now() < due && !opts.signal?.aborted) await sleep(due - performance.now(), opts.signal);
  }
  return samples;
}
