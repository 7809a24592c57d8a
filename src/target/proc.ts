/**
 * Readers for /proc/PID files. Each returns plain typed data; a vanished
 * process becomes a UserError so every command reports it the same way.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { UserError, isErrno } from '../errors.js';

export function procPath(pid: number, file: string): string {
  return `/proc/${pid}/${file}`;
}

/** Reads a /proc file, turning "no such process" and "permission" into user errors. */
export function readProcFile(pid: number, file: string): string {
  try {
    return readFileSync(procPath(pid, file), 'utf8');
  } catch (err) {
    throw procError(pid, file, err);
  }
}

export function procError(pid: number, file: string, err: unknown): Error {
  if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) {
    return new UserError(`no process with pid ${pid}: check the pid with "memwhy ps"`);
  }
  if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) {
    return new UserError(
      `permission denied reading /proc/${pid}/${file}: run memwhy as the target's user or as root (in a container: with CAP_SYS_PTRACE)`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function processExists(pid: number): boolean {
  try {
    readFileSync(procPath(pid, 'stat'));
    return true;
  } catch {
    return false;
  }
}

export interface ProcStatus {
  name: string;
  state: string;
  ppid: number;
  /** Real, effective, saved and filesystem uids. */
  uids: number[];
  gids: number[];
  /** Pid of the process ptrace-attached to this one (a debugger), 0 when none. */
  tracerPid: number;
  threads: number;
  /** The pid as seen in each pid namespace, outermost first (NSpid). */
  nspid: number[];
  /** Sizes in bytes; 0 where the kernel does not report them (kernel threads). */
  vmRss: number;
  rssAnon: number;
  rssFile: number;
  rssShmem: number;
  vmSwap: number;
  vmHwm: number;
}

export function parseStatus(text: string): ProcStatus {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const kib = (key: string): number => {
    const v = fields.get(key);
    return v ? Number(v.split(/\s+/)[0]) * 1024 : 0;
  };
  const ints = (key: string): number[] =>
    (fields.get(key) ?? '').split(/\s+/).filter(Boolean).map(Number);
  return {
    name: fields.get('Name') ?? '',
    state: fields.get('State') ?? '',
    ppid: Number(fields.get('PPid') ?? 0),
    uids: ints('Uid'),
    gids: ints('Gid'),
    tracerPid: Number(fields.get('TracerPid') ?? 0),
    threads: Number(fields.get('Threads') ?? 0),
    nspid: ints('NSpid'),
    vmRss: kib('VmRSS'),
    rssAnon: kib('RssAnon'),
    rssFile: kib('RssFile'),
    rssShmem: kib('RssShmem'),
    vmSwap: kib('VmSwap'),
    vmHwm: kib('VmHWM'),
  };
}

export function readStatus(pid: number): ProcStatus {
  return parseStatus(readProcFile(pid, 'status'));
}

export function readCmdline(pid: number): string[] {
  return readProcFile(pid, 'cmdline').split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
}

export function readEnviron(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of readProcFile(pid, 'environ').split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) env.set(entry.slice(0, i), entry.slice(i + 1));
  }
  return env;
}

/** The executable's path as the target sees it (inside its own mount namespace). */
export function readExe(pid: number): string {
  try {
    return readlinkSync(procPath(pid, 'exe'));
  } catch (err) {
    throw procError(pid, 'exe', err);
  }
}

export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  inode: number;
  /** Path, pseudo-name such as [heap] or [stack], or '' for anonymous memory. */
  path: string;
}

export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+(\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      start: BigInt('0x' + m[1]),
      end: BigInt('0x' + m[2]),
      perms: m[3]!,
      offset: BigInt('0x' + m[4]),
      inode: Number(m[5]),
      path: m[6]!,
    });
  }
  return out;
}

export function readMaps(pid: number): Mapping[] {
  return parseMaps(readProcFile(pid, 'maps'));
}

/** A path inside the target's mount namespace, reachable from ours. */
export function targetRootPath(pid: number, path: string): string {
  return `/proc/${pid}/root${path.startsWith('/') ? '' : '/'}${path}`;
}

/**
 * The process's start time in clock ticks since boot (field 22 of
 * /proc/PID/stat). With the pid it names one process for good: a pid can be
 * reused, a (pid, start time) pair cannot.
 */
export function parseStartTicks(statText: string): number {
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const close = statText.lastIndexOf(')');
  const ticks = close < 0 ? NaN : Number(statText.slice(close + 2).split(' ')[19]);
  if (!Number.isFinite(ticks)) throw new Error('unreadable /proc/PID/stat: no start time');
  return ticks;
}

export function readStartTicks(pid: number): number {
  return parseStartTicks(readProcFile(pid, 'stat'));
}

/** Whether `pid` is still the process that started at `startTicks` (false when gone). */
export function isSameProcess(pid: number, startTicks: number): boolean {
  try {
    return readStartTicks(pid) === startTicks;
  } catch {
    return false;
  }
}

/** Alive and not a zombie: a zombie has exited and only waits for its parent. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(procPath(pid, 'stat'), 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The namespace `kind` ('mnt', 'pid', 'user') of a process, as its /proc link text; undefined if unreadable. */
export function namespaceOf(pid: number | 'self', kind: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Proportional and unique set sizes from /proc/PID/smaps_rollup (Linux 4.14+), in bytes. */
export interface SmapsRollup {
  rss: number;
  /** Each page's size over the number of processes that map it. */
  pss: number;
  /** Pages mapped by this process alone (Private_Clean + Private_Dirty): what killing it would free. */
  uss: number;
  swap: number;
  /** Swapped pages shared like Pss (Linux 4.15+; 0 where absent). */
  swapPss: number;
}

export function parseSmapsRollup(text: string): SmapsRollup {
  const kib = new Map<string, number>();
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) kib.set(m[1]!, Number(m[2]) * 1024);
  if (!kib.has('Pss')) throw new Error('unreadable smaps_rollup: no Pss line');
  const get = (key: string): number => kib.get(key) ?? 0;
  return {
    rss: get('Rss'),
    pss: get('Pss'),
    uss: get('Private_Clean') + get('Private_Dirty'),
    swap: get('Swap'),
    swapPss: get('SwapPss'),
  };
}

/** Walks every mapping in the kernel: a few ms for a big process, so callers read it less often than status. */
export function readSmapsRollup(pid: number): SmapsRollup {
  return parseSmapsRollup(readProcFile(pid, 'smaps_rollup'));
}

/** How many file descriptors the process has open (entries of /proc/PID/fd). */
export function countOpenFds(pid: number): number {
  try {
    return readdirSync(procPath(pid, 'fd')).length;
  } catch (err) {
    throw procError(pid, 'fd', err);
  }
}
