/**
 * memwhy's one reader of /proc: each /proc/PID file (and its per-task
 * twins) is parsed here and nowhere else, into plain typed data. A vanished
 * process becomes a TargetExitedError so every command reports it the same
 * way.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

/** The one "process gone" error: the pid names no process (any more), or a zombie. */
export class TargetExitedError extends UserError {
  constructor(readonly pid: number) {
    super(`no process with pid ${pid}: check the pid with "memwhy ps"`);
    this.name = 'TargetExitedError';
  }
}

/** ENOENT or ESRCH: what reading /proc or signalling a process that is gone fails with. */
export function isGone(err: unknown): boolean {
  return isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH');
}

export function isDenied(err: unknown): boolean {
  return isErrno(err, 'EACCES') || isErrno(err, 'EPERM');
}

export function procError(pid: number, file: string, err: unknown): Error {
  if (isGone(err)) return new TargetExitedError(pid);
  if (isDenied(err)) {
    return new UserError(`permission denied reading /proc/${pid}/${file}: run memwhy as the target's user or as root (in a container: with CAP_SYS_PTRACE)`);
  }
  return err instanceof Error ? err : new Error(String(err));
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
  const ints = (key: string): number[] => (fields.get(key) ?? '').split(/\s+/).filter(Boolean).map(Number);
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
  return readProcFile(pid, 'cmdline')
    .split('\0')
    .filter((s, i, a) => s !== '' || i < a.length - 1);
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

/** One line of /proc/PID/maps (also the header line of each mapping in smaps); undefined for any other line. */
export function parseMapsLine(line: string): Mapping | undefined {
  const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+(\d+)\s*(.*)$/.exec(line);
  if (!m) return undefined;
  return {
    start: BigInt('0x' + m[1]),
    end: BigInt('0x' + m[2]),
    perms: m[3]!,
    offset: BigInt('0x' + m[4]),
    inode: Number(m[5]),
    path: m[6]!,
  };
}

export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const mapping = parseMapsLine(line);
    if (mapping) out.push(mapping);
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

/** The fields of /proc/PID/stat (or /proc/PID/task/TID/stat) memwhy reads; proc(5) numbers them from 1. */
export interface ProcStat {
  /** Field 3: R running, S sleeping, D disk sleep, T stopped, t traced, Z zombie, X dead, I idle kernel thread. */
  state: string;
  /** Field 4: the parent's pid. */
  ppid: number;
  /** Field 5: the process group. */
  pgrp: number;
  /** Field 7: the controlling terminal, 0 when none. */
  ttyNr: number;
  /** Field 8: the foreground process group of that terminal. */
  tpgid: number;
  /** Field 9: the kernel's PF_* flags (include/linux/sched.h). */
  flags: number;
  /** Fields 14 and 15: time on the CPU in user and kernel mode, in clock ticks (USER_HZ, 100 on Linux). */
  utimeTicks: number;
  stimeTicks: number;
  /**
   * Field 22: start time in clock ticks since boot. With the pid it names one
   * process for good: a pid can be reused, a (pid, start time) pair cannot.
   */
  startTicks: number;
}

/** Parses a stat line. The command name (field 2) may hold spaces and parentheses: fields are counted from the last ')'. */
export function parseStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  // f[0] is field 3 (state).
  const f = close < 0 ? [] : text.slice(close + 2).split(' ');
  const field = (n: number): number => Number(f[n - 3]);
  const stat = {
    state: f[0] ?? '',
    ppid: field(4),
    pgrp: field(5),
    ttyNr: field(7),
    tpgid: field(8),
    flags: field(9),
    utimeTicks: field(14),
    stimeTicks: field(15),
    startTicks: field(22),
  };
  if (stat.state === '' || !Number.isFinite(stat.startTicks)) throw new Error('unreadable /proc/PID/stat: no start time');
  return stat;
}

export function readStat(pid: number): ProcStat {
  return parseStat(readProcFile(pid, 'stat'));
}

export function readStartTicks(pid: number): number {
  return readStat(pid).startTicks;
}

/** Whether `pid` is still the process that started at `startTicks` (false when gone). */
export function isSameProcess(pid: number, startTicks: number): boolean {
  try {
    return readStartTicks(pid) === startTicks;
  } catch {
    return false;
  }
}

const PF_EXITING = 0x4; // include/linux/sched.h

/** Alive and not a zombie: a zombie has exited and only waits for its parent. */
export function processAlive(pid: number): boolean {
  try {
    // PF_EXITING: killed and tearing down. Its sockets close before it is a
    // zombie, so a closed agent connection found it 'R' with the flag set.
    const stat = parseStat(readFileSync(procPath(pid, 'stat'), 'latin1'));
    return stat.state !== 'Z' && stat.state !== 'X' && (stat.flags & PF_EXITING) === 0;
  } catch {
    return false;
  }
}

// --- threads: /proc/PID/task/TID ---------------------------------------------------

/** The thread ids of `pid`, as /proc/PID/task lists them. */
export function readTaskIds(pid: number): number[] {
  try {
    return readdirSync(procPath(pid, 'task')).map(Number);
  } catch (err) {
    throw procError(pid, 'task', err);
  }
}

/** One thread's stat, or undefined once the thread has exited. */
export function readTaskStat(pid: number, tid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(procPath(pid, `task/${tid}/stat`), 'latin1'));
  } catch {
    return undefined;
  }
}

/** One thread's name (comm), or undefined once the thread has exited. */
export function readTaskName(pid: number, tid: number): string | undefined {
  try {
    return readFileSync(procPath(pid, `task/${tid}/comm`), 'utf8').replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/**
 * A thread's time on the CPU in ms: schedstat's first field (ns, sched_info
 * in kernel/sched/stats.h) when the kernel keeps it, else utime + stime from
 * its stat in clock ticks of 10 ms (Linux's USER_HZ 100); null when neither says.
 */
export function readTaskCpuMs(pid: number, tid: number, stat: ProcStat): number | null {
  try {
    const ns = Number(readFileSync(procPath(pid, `task/${tid}/schedstat`), 'latin1').split(' ')[0]);
    if (Number.isFinite(ns)) return Math.round(ns / 1000) / 1000;
  } catch {
    // No schedstat: fall back to the tick counts.
  }
  const ticks = stat.utimeTicks + stat.stimeTicks;
  return Number.isFinite(ticks) ? ticks * 10 : null;
}

/** A thread's /proc/PID/task/TID/syscall line, or undefined when it has exited or may not be read. */
export function readTaskSyscall(pid: number, tid: number): string | undefined {
  try {
    return readFileSync(procPath(pid, `task/${tid}/syscall`), 'latin1');
  } catch {
    return undefined;
  }
}

// --- smaps ------------------------------------------------------------------------

/** The smaps fields memwhy uses, in bytes. */
export interface SmapsTotals {
  rss: number;
  pss: number;
  privateClean: number;
  privateDirty: number;
  swap: number;
  swapPss: number;
}

/**
 * Sums the "Key: N kB" lines of /proc/PID/smaps_rollup or /proc/PID/smaps.
 * Both files share that line format (Documentation/filesystems/proc.rst), so
 * summing every mapping of smaps gives what smaps_rollup gives in one line
 * each; only Pss differs, by rounding, because the rollup rounds once at the end.
 */
export function parseSmapsTotals(text: string): SmapsTotals {
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) totals.set(m[1]!, (totals.get(m[1]!) ?? 0) + Number(m[2]) * 1024);
  }
  const get = (key: string): number => totals.get(key) ?? 0;
  return {
    rss: get('Rss'),
    pss: get('Pss'),
    privateClean: get('Private_Clean'),
    privateDirty: get('Private_Dirty'),
    swap: get('Swap'),
    swapPss: get('SwapPss'),
  };
}

/** A mapping of /proc/PID/smaps with its resident bytes (the Rss: line). */
export interface SmapsMapping {
  start: bigint;
  end: bigint;
  perms: string;
  /** Path, pseudo-name ([heap], [stack]) or '' for anonymous memory. */
  path: string;
  rss: number;
}

export function readSmapsMappings(pid: number): SmapsMapping[] {
  return parseSmapsMappings(readProcFile(pid, 'smaps'));
}

/** Parses /proc/PID/smaps: a maps line per mapping, then "Key: N kB" lines. */
export function parseSmapsMappings(text: string): SmapsMapping[] {
  const out: SmapsMapping[] = [];
  let current: SmapsMapping | undefined;
  for (const line of text.split('\n')) {
    const head = parseMapsLine(line);
    if (head) {
      current = { start: head.start, end: head.end, perms: head.perms, path: head.path, rss: 0 };
      out.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss && current) current.rss = Number(rss[1]) * 1024;
  }
  return out;
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
