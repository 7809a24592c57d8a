/**
 * The malloc implementations memwhy knows: where Debian puts each library,
 * which package provides it, the environment that runs a program under it,
 * and which one serves malloc in a running process.
 *
 * glibc's malloc is the default; the others replace it through LD_PRELOAD,
 * because the dynamic linker binds malloc/free to the first library in
 * search order that defines them, and preloaded libraries come first.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError } from '../errors.js';

export type AllocatorName = 'glibc' | 'jemalloc' | 'tcmalloc' | 'mimalloc';

export interface AllocatorInfo {
  name: AllocatorName;
  /** Library file names to preload, best first; empty for glibc (always there). */
  libraries: readonly string[];
  /** The Debian package that provides the first library. */
  debianPackage: string;
  /**
   * Matches the file name of any build of this allocator in /proc/PID/maps,
   * where the dynamic linker's symlink is resolved (libtcmalloc_minimal.so.4
   * is mapped as libtcmalloc_minimal.so.4.5.10).
   */
  mapped: RegExp;
}

export const ALLOCATORS: readonly AllocatorInfo[] = [
  { name: 'glibc', libraries: [], debianPackage: 'libc6', mapped: /^libc\.so\.6$|^libc-2\.\d+\.so$/ },
  { name: 'jemalloc', libraries: ['libjemalloc.so.2'], debianPackage: 'libjemalloc2', mapped: /^libjemalloc\.so\.\d+(\.\d+)*$/ },
  {
    name: 'tcmalloc',
    // gperftools: the minimal build (no heap profiler) is the usual preload;
    // the full one comes with libgoogle-perftools4.
    libraries: ['libtcmalloc_minimal.so.4', 'libtcmalloc.so.4'],
    debianPackage: 'libtcmalloc-minimal4',
    mapped: /^libtcmalloc(_minimal)?(_debug)?\.so\.\d+(\.\d+)*$/,
  },
  { name: 'mimalloc', libraries: ['libmimalloc.so.2'], debianPackage: 'libmimalloc2.0', mapped: /^libmimalloc\.so\.\d+(\.\d+)*$/ },
];

export const ALLOCATOR_NAMES: readonly AllocatorName[] = ALLOCATORS.map((a) => a.name);

export function allocatorInfo(name: AllocatorName): AllocatorInfo {
  return ALLOCATORS.find((a) => a.name === name)!;
}

export function isAllocatorName(text: string): text is AllocatorName {
  return (ALLOCATOR_NAMES as readonly string[]).includes(text);
}

/** Debian's multiarch triplet for this machine ("x86_64-linux-gnu"). */
function multiarchTriplet(): string | undefined {
  switch (process.arch) {
    case 'x64':
      return 'x86_64-linux-gnu';
    case 'arm64':
      return 'aarch64-linux-gnu';
    case 'ia32':
      return 'i386-linux-gnu';
    case 'ppc64':
      return 'powerpc64le-linux-gnu';
    case 's390x':
      return 's390x-linux-gnu';
    default:
      return undefined;
  }
}

/** Where the dynamic linker finds libraries on Debian and most others, multiarch first. */
export function libraryDirs(): string[] {
  const triplet = multiarchTriplet();
  const multiarch = triplet ? [`/usr/lib/${triplet}`, `/lib/${triplet}`] : [];
  return [...multiarch, '/usr/local/lib', '/usr/lib64', '/usr/lib', '/lib64', '/lib'];
}

/** An allocator ready to run under: glibc, or another with the library file found. */
export type AllocatorChoice = { name: 'glibc' } | { name: Exclude<AllocatorName, 'glibc'>; library: string };

/** Finds the allocator's library, or fails with the apt-get line that installs it. */
export function locateAllocator(name: AllocatorName, dirs: readonly string[] = libraryDirs()): AllocatorChoice {
  if (name === 'glibc') return { name };
  const info = allocatorInfo(name);
  for (const file of info.libraries) {
    for (const dir of dirs) {
      const path = join(dir, file);
      if (existsSync(path)) return { name, library: path };
    }
  }
  throw new UserError(`${name} is not installed: apt-get install ${info.debianPackage}`);
}

/** glibc malloc settings, as tunables (glibc 2.26+, manual "Memory Allocation Tunables"). */
export interface GlibcSettings {
  /** glibc.malloc.arena_max: arenas at most; the default is 8 per core on 64-bit. */
  arenaMax?: number;
  /** glibc.malloc.trim_threshold: free memory at the top of the main heap kept before giving it back. */
  trimThreshold?: number;
}

/** The environment variables glibc also reads for each tunable; they would compete with ours. */
const TUNABLE_ALIASES: Record<keyof GlibcSettings, { tunable: string; alias: string }> = {
  arenaMax: { tunable: 'glibc.malloc.arena_max', alias: 'MALLOC_ARENA_MAX' },
  trimThreshold: { tunable: 'glibc.malloc.trim_threshold', alias: 'MALLOC_TRIM_THRESHOLD_' },
};

/** glibc's malloc settings asked for under another allocator, where they mean nothing. */
export class GlibcSettingsElsewhere extends UserError {
  constructor(
    readonly allocator: string,
    readonly settings: readonly (keyof GlibcSettings)[],
  ) {
    super(
      `${settings.map((k) => TUNABLE_ALIASES[k].tunable).join(' and ')} ${settings.length === 1 ? 'is a glibc setting: it does' : 'are glibc settings: they do'} nothing under ${allocator}`,
    );
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface AllocatorEnv {
  /** The whole environment for the child. */
  env: Record<string, string>;
  /** Variables set, in the order to show them. */
  set: Record<string, string>;
  /** Variables removed from the base environment. */
  unset: string[];
  /** Other allocators' libraries taken out of an inherited LD_PRELOAD. */
  droppedPreloads: string[];
}

/**
 * The environment that runs a program under `choice`: its library first in
 * LD_PRELOAD, or glibc tunables merged into GLIBC_TUNABLES. Another
 * allocator inherited in LD_PRELOAD is dropped, so only the chosen one serves
 * malloc; other preloads are kept.
 */
export function allocatorEnv(choice: AllocatorChoice, settings: GlibcSettings, baseEnv: Env): AllocatorEnv {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
  const set: Record<string, string> = {};
  const unset: string[] = [];

  const inherited = (env.LD_PRELOAD ?? '').split(/[:\s]+/).filter(Boolean);
  const droppedPreloads = inherited.filter(isAllocatorLibrary);
  const kept = inherited.filter((p) => !isAllocatorLibrary(p));
  const preload = choice.name === 'glibc' ? kept : [choice.library, ...kept];
  if (preload.length > 0) {
    if (preload.join(' ') !== (env.LD_PRELOAD ?? '')) set.LD_PRELOAD = preload.join(' ');
  } else if (env.LD_PRELOAD !== undefined) {
    unset.push('LD_PRELOAD');
  }

  const tunables = (Object.keys(TUNABLE_ALIASES) as (keyof GlibcSettings)[]).flatMap((key) => (settings[key] === undefined ? [] : [[key, settings[key]] as const]));
  if (tunables.length > 0) {
    if (choice.name !== 'glibc') {
      throw new GlibcSettingsElsewhere(
        choice.name,
        tunables.map(([key]) => key),
      );
    }
    const merged = new Map(parseTunables(env.GLIBC_TUNABLES ?? ''));
    for (const [key, value] of tunables) {
      const { tunable, alias } = TUNABLE_ALIASES[key];
      if (!Number.isInteger(value) || value < (key === 'arenaMax' ? 1 : 0)) {
        throw new UserError(`${tunable} must be a whole number${key === 'arenaMax' ? ' of at least 1' : ''}, not ${value}`);
      }
      merged.set(tunable, String(value));
      if (env[alias] !== undefined) unset.push(alias);
    }
    set.GLIBC_TUNABLES = [...merged].map(([k, v]) => `${k}=${v}`).join(':');
  }

  for (const name of unset) delete env[name];
  Object.assign(env, set);
  return { env, set, unset, droppedPreloads };
}

function parseTunables(text: string): [string, string][] {
  return text
    .split(':')
    .filter((t) => t.includes('='))
    .map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]);
}

function isAllocatorLibrary(path: string): boolean {
  return ALLOCATORS.some((a) => a.name !== 'glibc' && a.mapped.test(basename(path)));
}

export interface DetectedAllocator {
  name: AllocatorName | 'unknown';
  /** The library that serves malloc, as mapped; undefined for glibc's built-in malloc. */
  library?: string;
  /**
   * How sure: 'LD_PRELOAD' when a mapped allocator was preloaded (it wins
   * symbol lookup); 'mapped' when it is mapped without a preload (linked in,
   * which replaces malloc, or dlopen()ed by an extension, which does not);
   * 'default' for glibc with no other allocator mapped.
   */
  via: 'LD_PRELOAD' | 'mapped' | 'default';
  /** Allocators named in LD_PRELOAD that are not mapped: the preload failed. */
  notLoaded: string[];
}

/**
 * Which allocator serves malloc in a process, from the paths in its
 * /proc/PID/maps and its environment (/proc/PID/environ).
 */
export function detectAllocator(mapsPaths: readonly string[], environ: ReadonlyMap<string, string>): DetectedAllocator {
  const files = new Map<string, string>();
  for (const raw of mapsPaths) {
    const path = raw.replace(/ \(deleted\)$/, '');
    if (path.startsWith('/')) files.set(basename(path), path);
  }
  const others = ALLOCATORS.filter((a) => a.name !== 'glibc');
  const mappedAs = (name: string): AllocatorInfo | undefined => others.find((a) => a.mapped.test(name));

  const preloads = (environ.get('LD_PRELOAD') ?? '')
    .split(/[:\s]+/)
    .filter(Boolean)
    .map((p) => basename(p));
  // A preload names the symlink; maps show the file it resolves to, so match by allocator.
  const mappedPath = (info: AllocatorInfo): string | undefined => [...files].find(([file]) => info.mapped.test(file))?.[1];
  const notLoaded = preloads.filter((p) => {
    const info = mappedAs(p);
    return info !== undefined && mappedPath(info) === undefined;
  });
  // The first preloaded allocator that is mapped wins symbol lookup.
  for (const file of preloads) {
    const info = mappedAs(file);
    const path = info && mappedPath(info);
    if (info && path) return { name: info.name, library: path, via: 'LD_PRELOAD', notLoaded };
  }
  for (const [file, path] of files) {
    const info = mappedAs(file);
    if (info) return { name: info.name, library: path, via: 'mapped', notLoaded };
  }
  const glibc = allocatorInfo('glibc');
  const libc = [...files.keys()].some((f) => glibc.mapped.test(f));
  return { name: libc ? 'glibc' : 'unknown', via: 'default', notLoaded };
}
