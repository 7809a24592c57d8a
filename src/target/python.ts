/**
 * Finds and describes Python processes from /proc and their ELF files alone:
 * no ptrace, no code run in the target. Paths in /proc/PID/exe and maps are
 * as the target sees them (its mount namespace); files are reached through
 * /proc/PID/root.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { ElfFile } from './elf.js';
import { readCmdline, readExe, readMaps, readStartTicks, readStatus, targetRootPath, type Mapping, type ProcStatus } from './proc.js';

export interface PythonVersion {
  major: number;
  minor: number;
  micro?: number;
  /** "3.11.2", "3.13.0rc1", or "3.9" when only the minor version is known. */
  text: string;
}

export interface PythonTarget {
  pid: number;
  /** The pid inside the target's own pid namespace (last of NSpid). */
  nspid: number;
  uid: number;
  /** The user name from this machine's /etc/passwd, or the uid as text. */
  user: string;
  /** The executable's path as the target sees it. */
  exe: string;
  /** `/proc/PID/root`: the prefix that reaches the target's files from here. */
  root: string;
  implementation: 'CPython';
  version: PythonVersion;
  /** The ELF that holds the interpreter's symbols: libpython if mapped, else the executable. Path as seen from memwhy (through root). */
  interpreterElf: string;
  /** libpython's path as the target sees it, when the interpreter is a shared library (gdb needs its name). */
  libpython?: string;
  /**
   * Where the version came from: the Py_Version constant (3.11+), the
   * PY_VERSION string in the interpreter's read-only data (gives the micro
   * version before 3.11), or the libpython or executable file name.
   */
  versionSource: 'Py_Version' | 'version-string' | 'libpython-name' | 'binary-name';
  threads: number;
  /** Resident set size in bytes. */
  rss: number;
  /** Start time in clock ticks since boot: with the pid, names this process and no later one. */
  startTicks: number;
  startTime: Date;
  cmdline: string[];
}

/** A process that looks like Python but that memwhy cannot examine, and why. */
export interface RejectedPython {
  pid: number;
  user: string;
  cmdline: string[];
  reason: string;
}

export type Implementation = 'CPython' | 'PyPy' | 'GraalPy' | 'MicroPython' | 'RustPython' | 'Pyston';

export interface Classification {
  implementation: Implementation;
  /** The mapped libpython (CPython) or runtime library that decided it, as the target sees it. */
  library?: string;
}

/** Oldest versions whose layouts memwhy knows. */
const SUPPORTED = 'CPython 2.7 or 3.6 and later';

const LIBPYTHON = /^libpython(\d+)\.(\d+)(?:d|m|dm|t|td)?\.so(?:\.|$)/;
const PYTHON_EXE = /^python(?:(\d+)(?:\.(\d+))?)?(?:d|m|dm|t|td)?$/;

/**
 * Which Python implementation a process runs, from its executable and mapped
 * file names; undefined when the names say nothing about Python. Pure, so the
 * rules are testable without a PyPy on the machine.
 */
export function classifyImplementation(exe: string, mappedPaths: readonly string[]): Classification | undefined {
  const exeName = basename(stripDeleted(exe));
  const lib = (re: RegExp): string | undefined => mappedPaths.find((p) => re.test(basename(stripDeleted(p))));
  // Other implementations first: PyPy's launcher is not named python, but
  // GraalPy and distro PyPy packages may ship a "python" symlink.
  const pypy = lib(/^libpypy[\d.]*-c\.so/);
  if (pypy || /^pypy/.test(exeName)) return { implementation: 'PyPy', library: pypy };
  const graal = lib(/^libpythonvm\.so|^libgraalpy/);
  if (graal || /^graalpy/.test(exeName)) return { implementation: 'GraalPy', library: graal };
  if (/^micropython/.test(exeName)) return { implementation: 'MicroPython' };
  if (/^rustpython/.test(exeName)) return { implementation: 'RustPython' };
  if (/^pyston/.test(exeName)) return { implementation: 'Pyston' };
  const libpython = lib(LIBPYTHON);
  if (libpython) return { implementation: 'CPython', library: libpython };
  if (PYTHON_EXE.test(exeName)) return { implementation: 'CPython' };
  return undefined;
}

/** major.minor from a libpython file name: libpython3.9.so.1.0, libpython3.6m.so, libpython2.7.so.1.0. */
export function versionFromLibpython(path: string): PythonVersion | undefined {
  const m = LIBPYTHON.exec(basename(stripDeleted(path)));
  return m ? shortVersion(Number(m[1]), Number(m[2])) : undefined;
}

/** major.minor from an executable name: python3.8, python2.7, python3.13t; not from "python3". */
export function versionFromExe(path: string): PythonVersion | undefined {
  const m = PYTHON_EXE.exec(basename(stripDeleted(path)));
  return m && m[2] !== undefined ? shortVersion(Number(m[1]), Number(m[2])) : undefined;
}

/** PY_VERSION_HEX (Include/patchlevel.h): 0xMMmmPPLS, level 0xA alpha, 0xB beta, 0xC candidate, 0xF final. */
export function versionFromHex(hex: bigint): PythonVersion {
  const n = Number(hex & 0xffffffffn);
  const major = (n >>> 24) & 0xff;
  const minor = (n >>> 16) & 0xff;
  const micro = (n >>> 8) & 0xff;
  const level = (n >>> 4) & 0xf;
  const serial = n & 0xf;
  const suffix = level === 0xa ? `a${serial}` : level === 0xb ? `b${serial}` : level === 0xc ? `rc${serial}` : '';
  return { major, minor, micro, text: `${major}.${minor}.${micro}${suffix}` };
}

export function isSupportedVersion(v: { major: number; minor: number }): boolean {
  return (v.major === 2 && v.minor >= 7) || (v.major === 3 && v.minor >= 6) || v.major > 3;
}

/** Describes a CPython process, or says in one line why it cannot. */
export function describePython(pid: number): PythonTarget {
  const result = inspect(pid);
  if (result.kind === 'python') return result.target;
  throw new UserError(result.reason);
}

/**
 * Every process that describePython accepts. Vanished and inaccessible
 * processes are skipped; so is the process tree under `excludeTreeOf`
 * (memwhy's own helpers: a gdb it runs embeds libpython).
 */
export function listPythons(options: { excludeTreeOf?: number } = {}): PythonTarget[] {
  return surveyPythons(options).accepted;
}

/** listPythons plus the processes that look like Python but cannot be examined, with the reason. */
export function surveyPythons(options: { excludeTreeOf?: number } = {}): {
  accepted: PythonTarget[];
  rejected: RejectedPython[];
} {
  const statuses = new Map<number, ProcStatus>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      statuses.set(pid, readStatus(pid));
    } catch {
      // Vanished since readdir.
    }
  }
  const excluded = options.excludeTreeOf;
  const accepted: PythonTarget[] = [];
  const rejected: RejectedPython[] = [];
  for (const [pid, status] of [...statuses].sort((a, b) => a[0] - b[0])) {
    if (excluded !== undefined && descendsFrom(pid, excluded, statuses)) continue;
    let result: Inspection;
    try {
      result = inspect(pid, status);
    } catch (err) {
      if (err instanceof UserError || hasErrno(err)) continue;
      throw err;
    }
    if (result.kind === 'python') accepted.push(result.target);
    else if (result.kind === 'rejected') {
      rejected.push({ pid, user: userName(status.uids[1] ?? 0), cmdline: safeCmdline(pid), reason: result.reason });
    }
  }
  return { accepted, rejected };
}

type Inspection =
  | { kind: 'python'; target: PythonTarget }
  /** Looks like Python but cannot be examined: another implementation, old version, no permission. */
  | { kind: 'rejected'; reason: string }
  | { kind: 'not-python'; reason: string };

function inspect(pid: number, knownStatus?: ProcStatus): Inspection {
  // First, so what is examined below is known to be this process and not a later one with its pid.
  const startTicks = readStartTicks(pid);
  const status = knownStatus ?? readStatus(pid);
  if (status.state.startsWith('Z')) {
    return { kind: 'not-python', reason: `pid ${pid} has exited (it is a zombie waiting for its parent)` };
  }
  let exe: string;
  let maps: Mapping[];
  try {
    exe = readExe(pid);
    maps = readMaps(pid);
  } catch (err) {
    if (err instanceof UserError && /permission denied/.test(err.message) && looksLikePython(pid, status)) {
      return { kind: 'rejected', reason: err.message };
    }
    // Kernel threads have no executable: /proc/PID/exe is a dangling link.
    if (err instanceof UserError && status.vmRss === 0 && !/permission/.test(err.message)) {
      return { kind: 'not-python', reason: `pid ${pid} is not a Python process: it is the kernel thread ${status.name}` };
    }
    throw err;
  }
  const mapped = [...new Set(maps.map((m) => m.path).filter((p) => p.startsWith('/')))];
  const found = classifyImplementation(exe, mapped) ?? staticInterpreter(pid, exe, maps);
  if (!found) return { kind: 'not-python', reason: `pid ${pid} is not a Python process: it runs ${exe}` };
  if (found.implementation !== 'CPython') {
    return {
      kind: 'rejected',
      reason: `pid ${pid} runs ${found.implementation} (${exe}), which memwhy does not support: it reads CPython's internals (${SUPPORTED})`,
    };
  }
  const libpython = found.library;
  const elfMapping = libpython ?? exe;
  const interpreterElf = reachablePath(pid, elfMapping, maps);
  const detected = detectVersion(interpreterElf, libpython, exe);
  if (!detected) {
    return {
      kind: 'rejected',
      reason: `cannot tell which CPython version pid ${pid} runs: ${stripDeleted(elfMapping)} has no Py_Version symbol and its name carries no version`,
    };
  }
  const { version, source } = detected;
  if (!isSupportedVersion(version)) {
    return {
      kind: 'rejected',
      reason: `pid ${pid} runs CPython ${version.text}, which memwhy does not support: it needs ${SUPPORTED}`,
    };
  }
  const uid = status.uids[1] ?? status.uids[0] ?? 0;
  return {
    kind: 'python',
    target: {
      pid,
      nspid: status.nspid[status.nspid.length - 1] ?? pid,
      uid,
      user: userName(uid),
      exe: stripDeleted(exe),
      root: `/proc/${pid}/root`,
      implementation: 'CPython',
      version,
      interpreterElf,
      ...(libpython ? { libpython: stripDeleted(libpython) } : {}),
      versionSource: source,
      threads: status.threads,
      rss: status.vmRss,
      startTicks,
      startTime: startTime(startTicks),
      cmdline: readCmdline(pid),
    },
  };
}

/**
 * A renamed executable with CPython linked in statically (a python copied to
 * "myservice"): 3.11+ builds carry a .PyRuntime section. Older renamed static
 * builds are not recognised; reading their whole symbol table for every
 * process in `ps` would be too slow.
 */
function staticInterpreter(pid: number, exe: string, maps: Mapping[]): Classification | undefined {
  const elf = tryOpen(reachablePath(pid, exe, maps));
  if (!elf) return undefined;
  try {
    return elf.section('.PyRuntime') && elf.symbol('Py_Version') ? { implementation: 'CPython' } : undefined;
  } finally {
    elf.close();
  }
}

type DetectedVersion = { version: PythonVersion; source: PythonTarget['versionSource'] };

/**
 * Keyed by the interpreter file (and the names the answer may come from):
 * loading a static build's symbol table takes tens of ms, and `memwhy watch`
 * meets many processes of one interpreter.
 */
const detectedVersions = new Map<string, DetectedVersion | null>();

function detectVersion(elfPath: string, libpython: string | undefined, exe: string): DetectedVersion | undefined {
  const key = `${fileKey(elfPath)}\0${libpython ?? ''}\0${basename(exe)}`;
  const cached = detectedVersions.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const found = detectVersionUncached(elfPath, libpython, exe);
  detectedVersions.set(key, found ?? null);
  return found;
}

function detectVersionUncached(elfPath: string, libpython: string | undefined, exe: string): DetectedVersion | undefined {
  const elf = tryOpen(elfPath);
  try {
    const symbol = elf?.symbol('Py_Version');
    if (elf && symbol) return { version: versionFromHex(elf.readAt(symbol.value, 8).readBigUInt64LE(0)), source: 'Py_Version' };
    const fromLib = libpython ? versionFromLibpython(libpython) : undefined;
    const named = fromLib ?? versionFromExe(exe);
    if (!named) return undefined;
    const exact = elf && versionString(elf, named);
    if (exact) return { version: exact, source: 'version-string' };
    return { version: named, source: fromLib ? 'libpython-name' : 'binary-name' };
  } finally {
    elf?.close();
  }
}

const versionStringCache = new Map<string, PythonVersion | null>();

/**
 * The full version from the PY_VERSION literal ("3.9.18") in .rodata, given
 * major.minor from a file name. The linker merges string tails, so the
 * literal may end another string ("/opt/python/3.9.18"): every candidate
 * ending in "major.minor.N\0" must agree, else the answer is unknown.
 */
function versionString(elf: ElfFile, named: PythonVersion): PythonVersion | undefined {
  const rodata = elf.section('.rodata');
  if (!rodata) return undefined;
  const key = fileKey(elf.path);
  const cached = versionStringCache.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const text = elf.sectionData(rodata).toString('latin1');
  const re = new RegExp(`(?<![\\d.])${named.major}\\.${named.minor}\\.(\\d+)((?:a|b|rc)\\d+)?\\+?\\0`, 'g');
  const found = new Set<string>();
  let micro = 0;
  for (const m of text.matchAll(re)) {
    found.add(m[0].slice(0, -1));
    micro = Number(m[1]);
  }
  const result = found.size === 1 ? { major: named.major, minor: named.minor, micro, text: [...found][0]!.replace(/\+$/, '') } : undefined;
  versionStringCache.set(key, result ?? null);
  return result;
}

/** The path from here to a file the target has mapped; a deleted file is still reachable through map_files. */
function reachablePath(pid: number, path: string, maps: Mapping[]): string {
  if (!path.endsWith(' (deleted)')) return targetRootPath(pid, path);
  const first = maps.filter((m) => m.path === path).sort((a, b) => (a.offset < b.offset ? -1 : 1))[0];
  return first ? `/proc/${pid}/map_files/${first.start.toString(16)}-${first.end.toString(16)}` : targetRootPath(pid, stripDeleted(path));
}

/** Identifies a file across paths (each target reaches it through its own /proc/PID/root). */
function fileKey(path: string): string {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return path;
  }
}

function tryOpen(path: string): ElfFile | undefined {
  try {
    return ElfFile.open(path);
  } catch {
    return undefined;
  }
}

function looksLikePython(pid: number, status: ProcStatus): boolean {
  const argv0 = safeCmdline(pid)[0] ?? '';
  return [status.name, basename(argv0)].some((n) => /^(python|pypy|graalpy)/.test(n));
}

function safeCmdline(pid: number): string[] {
  try {
    return readCmdline(pid);
  } catch {
    return [];
  }
}

function descendsFrom(pid: number, ancestor: number, statuses: Map<number, ProcStatus>): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 4096; hops++) {
    if (p === ancestor) return true;
    p = statuses.get(p)?.ppid ?? 0;
  }
  return false;
}

/**
 * The process start time: field 22 of /proc/PID/stat counts clock ticks since
 * boot (btime in /proc/stat). Userspace sees ticks at USER_HZ, which is 100 on
 * every Linux architecture memwhy runs on (include/asm-generic/param.h).
 */
function startTime(startTicks: number): Date {
  return new Date((bootTime() + startTicks / 100) * 1000);
}

let bootSeconds: number | undefined;

function bootTime(): number {
  bootSeconds ??= Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
  return bootSeconds;
}

let users: Map<number, string> | undefined;

/** The user name from this machine's /etc/passwd, or the uid as text. */
export function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id && !users.has(Number(id))) users.set(Number(id), name);
      }
    } catch {
      // No /etc/passwd (a minimal container): uids it is.
    }
  }
  return users.get(uid) ?? String(uid);
}

function shortVersion(major: number, minor: number): PythonVersion {
  return { major, minor, text: `${major}.${minor}` };
}

function stripDeleted(path: string): string {
  return path.endsWith(' (deleted)') ? path.slice(0, -' (deleted)'.length) : path;
}

function hasErrno(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string';
}
