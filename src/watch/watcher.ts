/**
 * The state `memwhy watch` serves: every watched process with its latest
 * /proc figures, collector counters and a window of RSS readings. `sample()`
 * brings it up to date (on a timer); `snapshot()` is what a scrape formats.
 * A process that exits or whose pid is reused is dropped at the next sample
 * and filtered out of any snapshot before that, so no series outlives it.
 */
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GcMemoryProbe } from '../collect/gcMemory.js';
import { ArenaMemoryProbe } from '../collect/arenaMemory.js';
import type { ArenaCounts } from '../cpython/arenaState.js';
import type { GcState } from '../cpython/gcState.js';
import { leastSquaresSlope, type Point } from '../analyze/slope.js';
import { readCgroup, readCgroupMemory, type CgroupMemory, type CgroupPlace } from '../target/cgroup.js';
import { countOpenFds, isSameProcess, readSmapsRollup, readStatus, type SmapsRollup } from '../target/proc.js';
import type { PythonTarget } from '../target/python.js';
import { Discovery, type WatchFilter } from './discover.js';

export interface WatchSettings {
  filter: WatchFilter;
  /** Seconds of RSS readings the growth slope is fitted over. */
  windowS: number;
  /** smaps_rollup walks every mapping: read it at most this often, in seconds. */
  smapsIntervalS: number;
  /** Read the collector's counters from memory (off: /proc figures only). */
  gc: boolean;
  /**
   * Look for new processes at most this often, in seconds (0: at every
   * sample). Finding them reads a file of every process on the host; the
   * watched ones are read at every sample regardless.
   */
  discoverIntervalS?: number;
}

/** Who a process is: the labels every one of its series carries. */
export interface ProcessIdentity {
  pid: number;
  startTicks: number;
  exe: string;
  /** argv[0]'s base name and the first argument, cut short: "python3 app.py". */
  command: string;
  pythonVersion: string;
  startTime: Date;
  cgroup: CgroupPlace;
}

export interface ProcFigures {
  rss: number;
  anon: number;
  swap: number;
  threads: number;
  openFds: number;
}

export interface RssGrowth {
  bytesPerSecond: number;
  r2: number;
  /** The span the readings cover, which is shorter than the window while a process is young. */
  windowS: number;
  points: number;
}

export interface ProcessSnapshot {
  identity: ProcessIdentity;
  figures: ProcFigures;
  smaps?: SmapsRollup;
  cgroupMemory?: CgroupMemory;
  gc?: GcState;
  arenas?: ArenaCounts;
  growth?: RssGrowth;
}

/** Figures that could not be read at the last sample, by kind: the exporter's own health. */
export type ReadErrorKind = 'proc' | 'smaps' | 'gc' | 'arenas';

/** A line fit needs a few points before its slope means anything. */
const MIN_GROWTH_POINTS = 3;
const COMMAND_CHARS = 80;

interface Watched {
  identity: ProcessIdentity;
  figures?: ProcFigures;
  smaps?: SmapsRollup;
  smapsAtMs?: number;
  cgroupMemory?: CgroupMemory;
  gcProbe?: GcMemoryProbe;
  gc?: GcState;
  arenaProbe?: ArenaMemoryProbe;
  arenas?: ArenaCounts;
  rss: Point[];
}

export class Watcher {
  private readonly discovery: Discovery;
  private readonly processes = new Map<string, Watched>();
  private lastDiscoveryMs = -Infinity;
  readonly readErrors: Record<ReadErrorKind, number> = { proc: 0, smaps: 0, gc: 0, arenas: 0 };
  lastSampleSeconds = 0;

  constructor(private readonly settings: WatchSettings) {
    this.discovery = new Discovery(settings.filter);
  }

  /** Finds processes, reads each one's figures, and drops the gone. `nowMs` is wall-clock time. */
  sample(nowMs: number = Date.now()): void {
    const started = performance.now();
    const seen = new Set<string>();
    if (nowMs - this.lastDiscoveryMs >= (this.settings.discoverIntervalS ?? 0) * 1000) {
      this.lastDiscoveryMs = nowMs;
      for (const target of this.discovery.scan()) {
        const key = `${target.pid}:${target.startTicks}`;
        seen.add(key);
        if (!this.processes.has(key)) this.processes.set(key, this.adopt(target));
      }
    } else {
      for (const key of this.processes.keys()) seen.add(key);
    }
    for (const [key, w] of this.processes) {
      if (!seen.has(key) || !this.read(w, nowMs)) {
        w.gcProbe?.close();
        w.arenaProbe?.close();
        this.processes.delete(key);
      }
    }
    this.lastSampleSeconds = (performance.now() - started) / 1000;
  }

  /** Every watched process still alive as the same process, with what was last read. */
  snapshot(): ProcessSnapshot[] {
    const out: ProcessSnapshot[] = [];
    for (const w of this.processes.values()) {
      if (!w.figures || !isSameProcess(w.identity.pid, w.identity.startTicks)) continue;
      out.push({
        identity: w.identity,
        figures: w.figures,
        ...(w.smaps ? { smaps: w.smaps } : {}),
        ...(w.cgroupMemory ? { cgroupMemory: w.cgroupMemory } : {}),
        ...(w.gc ? { gc: w.gc } : {}),
        ...(w.arenas ? { arenas: w.arenas } : {}),
        ...optional('growth', growthOf(w.rss)),
      });
    }
    return out.sort((a, b) => a.identity.pid - b.identity.pid);
  }

  /** The RSS readings in the window, oldest first (for the diagnose-when rules). */
  rssSeries(pid: number, startTicks: number): readonly Point[] {
    return this.processes.get(`${pid}:${startTicks}`)?.rss ?? [];
  }

  close(): void {
    for (const w of this.processes.values()) {
      w.gcProbe?.close();
      w.arenaProbe?.close();
    }
    this.processes.clear();
  }

  private adopt(target: PythonTarget): Watched {
    let cgroup: CgroupPlace = { path: '/', version: 2 };
    try {
      cgroup = readCgroup(target.pid);
    } catch {
      // Gone already: the read below drops it.
    }
    const w: Watched = {
      identity: {
        pid: target.pid,
        startTicks: target.startTicks,
        exe: target.exe,
        command: shortCommand(target.cmdline),
        pythonVersion: target.version.text,
        startTime: target.startTime,
        cgroup,
      },
      rss: [],
    };
    if (this.settings.gc) {
      try {
        w.gcProbe = GcMemoryProbe.open(target);
      } catch {
        // No permission to read its memory, or no interpreter symbols: /proc figures only.
        this.readErrors.gc++;
      }
      try {
        w.arenaProbe = ArenaMemoryProbe.open(target);
      } catch {
        this.readErrors.arenas++;
      }
    }
    return w;
  }

  /** False when the process is gone. */
  private read(w: Watched, nowMs: number): boolean {
    const pid = w.identity.pid;
    try {
      const status = readStatus(pid);
      if (status.state.startsWith('Z')) return false;
      w.figures = { rss: status.vmRss, anon: status.rssAnon, swap: status.vmSwap, threads: status.threads, openFds: countOpenFds(pid) };
    } catch {
      if (isSameProcess(pid, w.identity.startTicks)) this.readErrors.proc++;
      return false;
    }
    // A reused pid between the scan and this read: the figures are another process's.
    if (!isSameProcess(pid, w.identity.startTicks)) return false;
    w.rss.push({ t_s: nowMs / 1000, v: w.figures.rss });
    const oldest = nowMs / 1000 - this.settings.windowS;
    while (w.rss.length > 0 && w.rss[0]!.t_s < oldest) w.rss.shift();
    if (w.smapsAtMs === undefined || nowMs - w.smapsAtMs >= this.settings.smapsIntervalS * 1000) {
      try {
        w.smaps = readSmapsRollup(pid);
        w.smapsAtMs = nowMs;
      } catch {
        this.readErrors.smaps++;
      }
    }
    const cgroupMemory = readCgroupMemory(w.identity.cgroup);
    if (cgroupMemory) w.cgroupMemory = cgroupMemory;
    else delete w.cgroupMemory;
    if (w.gcProbe) {
      try {
        w.gc = w.gcProbe.read();
      } catch {
        // Starting up (no interpreter yet) or finalizing: no figures rather than stale ones.
        delete w.gc;
        this.readErrors.gc++;
      }
    }
    if (w.arenaProbe) {
      try {
        w.arenas = w.arenaProbe.read();
      } catch {
        delete w.arenas;
        this.readErrors.arenas++;
      }
    }
    return true;
  }
}

export function growthOf(points: readonly Point[]): RssGrowth | undefined {
  if (points.length < MIN_GROWTH_POINTS) return undefined;
  const fit = leastSquaresSlope(points);
  if (!fit) return undefined;
  return { bytesPerSecond: fit.slope, r2: fit.r2, windowS: points[points.length - 1]!.t_s - points[0]!.t_s, points: points.length };
}

/** "python3 app.py": enough to tell services apart on a dashboard, short enough for a label. */
export function shortCommand(argv: readonly string[]): string {
  const words = argv.length > 0 ? [basename(argv[0]!), ...argv.slice(1)] : [];
  // The interpreter's own flags (-u, -X dev) say little: name the script or module after them.
  const script = words.slice(1).findIndex((a) => !a.startsWith('-'));
  const shown = script < 0 ? words.slice(0, 1) : [words[0]!, ...words.slice(1, script + 2)];
  const text = shown.join(' ');
  return text.length > COMMAND_CHARS ? text.slice(0, COMMAND_CHARS - 3) + '...' : text;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
