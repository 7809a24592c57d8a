/**
 * Which processes `memwhy watch` follows: every CPython process visible in
 * /proc (or those named by --pid or --match), found again at each sample.
 * Describing a process opens its interpreter's ELF file, so the answer is
 * kept per (pid, start time, executable): a process is described once, and
 * again only if it exec()s another program under the same pid.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { describePython, type PythonTarget } from '../target/python.js';
import { readStartTicks, readStatus } from '../target/proc.js';

export interface WatchFilter {
  /** Only these pids (--pid). */
  pids?: ReadonlySet<number>;
  /** Only processes whose command line (argv joined by spaces) matches (--match). */
  match?: RegExp;
  /** memwhy's own pid: it and what it runs (gdb embeds libpython) are never watched. Unset in a library user that watches its own children. */
  excludeTreeOf?: number;
}

/** Debuggers embed CPython for their scripts; `memwhy ps` hides them too. */
const EMBEDDING_TOOLS = /^(gdb|gdb-multiarch|lldb)$/;

interface Verdict {
  key: string;
  target?: PythonTarget;
}

export class Discovery {
  private readonly verdicts = new Map<number, Verdict>();

  constructor(private readonly filter: WatchFilter) {}

  /** The Python processes to watch now, by pid. */
  scan(): PythonTarget[] {
    const present = new Set<number>();
    const found: PythonTarget[] = [];
    for (const pid of this.candidates()) {
      present.add(pid);
      const key = identityKey(pid);
      if (key === undefined) continue;
      let verdict = this.verdicts.get(pid);
      if (verdict?.key !== key) {
        verdict = { key, target: this.describe(pid) };
        this.verdicts.set(pid, verdict);
      }
      if (verdict.target && this.wanted(verdict.target)) found.push(verdict.target);
    }
    // Forget pids that are gone, so the cache stays as big as /proc.
    for (const pid of this.verdicts.keys()) if (!present.has(pid)) this.verdicts.delete(pid);
    return found;
  }

  private candidates(): number[] {
    if (this.filter.pids) return [...this.filter.pids];
    return readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  }

  private describe(pid: number): PythonTarget | undefined {
    try {
      if (pid === process.pid) return undefined;
      if (this.filter.excludeTreeOf !== undefined && descendsFrom(pid, this.filter.excludeTreeOf)) return undefined;
      const target = describePython(pid);
      return EMBEDDING_TOOLS.test(basename(target.exe)) ? undefined : target;
    } catch {
      // Not Python, not supported, gone, or not ours to read: not watched.
      return undefined;
    }
  }

  private wanted(target: PythonTarget): boolean {
    return !this.filter.match || this.filter.match.test(target.cmdline.join(' '));
  }
}

/** (start time, executable): changes when the pid is reused or the process exec()s; undefined when gone. */
function identityKey(pid: number): string | undefined {
  let ticks: number;
  try {
    ticks = readStartTicks(pid);
  } catch {
    return undefined;
  }
  let exe = '';
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // Another user's process or a kernel thread: the start time alone.
  }
  return `${ticks}:${exe}`;
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 4096; hops++) {
    if (p === ancestor) return true;
    try {
      p = readStatus(p).ppid;
    } catch {
      return false;
    }
  }
  return false;
}
