/**
 * Watches a master's Python workers for a short window, RSS only, from
 * /proc/PID/status: nothing is attached, nothing is paused. What it returns
 * is plain data for src/analyze/workers.ts to choose from.
 */
import { parseStatus, procPath } from '../target/proc.js';
import { findPythonWorkers, type PythonNode, type WorkerRole } from '../target/workers.js';
import { readFileSync } from 'node:fs';
import { sleep } from '../util/sleep.js';

export interface RssPoint {
  /** ms since the epoch. */
  t: number;
  /** bytes */
  rss: number;
}

export interface WatchedProcess {
  pid: number;
  /** The nearest Python ancestor (the master for a gunicorn worker), or the pid asked about. */
  parent: number | null;
  role: WorkerRole | null;
  cmdline: string[];
  samples: RssPoint[];
  /** It exited (or became a zombie) during the window. */
  exited: boolean;
}

export interface WorkersWatch {
  /** The pid asked about. */
  master: WatchedProcess;
  workers: WatchedProcess[];
  /** Python helpers under the master (multiprocessing's resource tracker...): not watched, never chosen. */
  helpers: number[];
  window_s: number;
  interval_s: number;
}

export interface WorkersWatchOptions {
  windowS: number;
  /** Default: a twentieth of the window (0.5 s for 10 s), at least 0.1 s: enough points for a slope. */
  intervalS?: number;
  signal?: AbortSignal;
  /** Called once the workers are known, before the window starts. */
  onStart?: (workers: number) => void;
}

/**
 * Finds the Python workers under `pid` and samples the RSS of each, and of
 * `pid` itself, every `intervalS` for `windowS`. Undefined when `pid` has no
 * Python workers. A worker that exits keeps the samples it had.
 */
export async function watchWorkers(pid: number, opts: WorkersWatchOptions): Promise<WorkersWatch | undefined> {
  const survey = findPythonWorkers(pid);
  if (survey.workers.length === 0) return undefined;
  opts.onStart?.(survey.workers.length);
  const watched = (node: Pick<PythonNode, 'pid' | 'parent' | 'role'>, cmdline: string[]): WatchedProcess => ({
    pid: node.pid,
    parent: node.parent,
    role: node.role,
    cmdline,
    samples: [],
    exited: false,
  });
  const master = watched({ pid, parent: null, role: 'master' }, []);
  const workers = survey.workers.map((w) => watched(w.node, w.target.cmdline));
  const all = [master, ...workers];
  const intervalS = opts.intervalS ?? Math.max(0.1, opts.windowS / 20);
  const intervalMs = intervalS * 1000;
  const lastTick = Math.max(1, Math.floor(opts.windowS / intervalS + 1e-9));
  const start = performance.now();
  for (let tick = 0; tick <= lastTick && !opts.signal?.aborted;) {
    for (const p of all) {
      if (p.exited) continue;
      const rss = readRss(p.pid);
      if (rss === undefined) p.exited = true;
      else p.samples.push({ t: Math.round(performance.timeOrigin + performance.now()), rss });
    }
    if (workers.every((w) => w.exited)) break;
    // A fixed schedule, as in collect/rss.ts's watchMemory: lateness does not add up.
    const passed = Math.floor((performance.now() - start) / intervalMs);
    tick = Math.max(tick + 1, passed);
    if (tick > lastTick) break;
    await sleep(start + tick * intervalMs - performance.now(), opts.signal);
  }
  return { master, workers, helpers: survey.helpers.map((h) => h.pid), window_s: opts.windowS, interval_s: intervalS };
}

/** RSS in bytes, or undefined when the process has exited (gone, or a zombie waiting for its parent). */
function readRss(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(procPath(pid, 'status'), 'utf8');
  } catch {
    return undefined;
  }
  const status = parseStatus(text);
  return /^[ZX]/.test(status.state) ? undefined : status.vmRss;
}
