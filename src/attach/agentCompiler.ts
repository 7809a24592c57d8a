/**
 * Compiles the agent's modules here, not in the target: a Python of the
 * target's version found on this machine (the target's own executable when
 * memwhy sees the same file) runs src/agent/precompile.py and hands back
 * marshal data, which the agent's thread loads instead of compiling. Any
 * compile() in the target leaves its malloc arena at the compiler's peak
 * (src/agent/start.py): measured on a steady target, compiling agent.py,
 * census.py, fork.py and start.py in a new thread left 416 kB (Debian 3.11)
 * to 904 kB (3.9) resident, loading the same code from marshal data 108-124 kB.
 *
 * Where no such Python is here (a container's interpreter, an unusual
 * version) the agent compiles in the target as before: the code is the same,
 * only the footprint differs. What was compiled is kept for the next run
 * (src/attach/compiledCache.ts).
 */
import { execFile } from 'node:child_process';
import { constants, accessSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { readPackageFile } from '../installation.js';
import type { PythonTarget, PythonVersion } from '../target/python.js';
import { cacheDir, cacheKey, CompiledCache } from './compiledCache.js';

/** precompile.py's status for a Python that is not the target's version. */
const WRONG_VERSION = 3;
/** Compiling every agent module takes 0.1-0.3 s; the bound is for a loaded machine. */
const COMPILE_TIMEOUT_MS = 30_000;

export interface AgentCompiler {
  /** The Python that compiles, for messages. */
  readonly python: string;
  /** Each module's marshal data, marshal.dumps((name, code)), by name; undefined when compiling failed. */
  compile(modules: Record<string, string>): Promise<Map<string, Buffer> | undefined>;
}

/** A pre-release's exact version ("3.13.0rc1"): its bytecode may differ from the final release's. */
function exactVersionNeeded(v: PythonVersion): string {
  return /\d(a|b|rc)\d+$/.test(v.text) ? v.text : '';
}

/**
 * Whether memwhy may run this file: it runs as root on production hosts, so
 * it only runs a Python that no one but root or memwhy's own user could have
 * put there (the file and its directory theirs, not writable by others).
 */
function trusted(path: string): boolean {
  const me = process.geteuid?.() ?? 0;
  try {
    accessSync(path, constants.X_OK);
    for (const p of [path, dirname(path)]) {
      const st = statSync(p);
      if ((st.uid !== 0 && st.uid !== me) || (st.mode & 0o022) !== 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Pythons that may be the target's version, best first: the target's own
 * executable if this machine's file is the very one it runs (same device and
 * inode; never a file inside another mount namespace, which its owner could
 * swap), then pythonX.Y on PATH, in /usr/bin and /usr/local/bin, and in
 * pyenv's versions.
 */
export function compilerCandidates(target: PythonTarget, env: NodeJS.ProcessEnv = process.env): string[] {
  const { major, minor } = target.version;
  const out: string[] = [];
  if (/^python[\d.]*$/.test(basename(target.exe))) {
    try {
      const here = statSync(target.exe);
      const there = statSync(`/proc/${target.pid}/exe`);
      if (here.dev === there.dev && here.ino === there.ino) out.push(target.exe);
    } catch {
      // not visible from here
    }
  }
  const name = `python${major}.${minor}`;
  for (const dir of [...(env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), '/usr/bin', '/usr/local/bin']) out.push(join(dir, name));
  const pyenv = join(env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  try {
    const versions = readdirSync(pyenv)
      .filter((v) => v.startsWith(`${major}.${minor}.`))
      .sort()
      .reverse();
    for (const v of versions) out.push(join(pyenv, v, 'bin', name));
  } catch {
    // no pyenv
  }
  const seen = new Set<string>();
  return out.filter((p) => {
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      return false;
    }
    if (seen.has(real)) return false;
    seen.add(real);
    return trusted(real);
  });
}

/** Runs precompile.py in one Python: its output, or the exit status it failed with. */
function runPrecompile(python: string, script: string, version: PythonVersion, modules: Record<string, string>): Promise<Buffer | number> {
  const input = Buffer.concat(
    Object.entries(modules).flatMap(([name, source]) => {
      const text = Buffer.from(source, 'utf8');
      return [Buffer.from(`${name}\n${text.length}\n`, 'ascii'), text];
    }),
  );
  return new Promise((resolve) => {
    // -E -s -S: no PYTHON* variables, no site or user site (2.7 has no -I).
    const child = execFile(
      python,
      ['-E', '-s', '-S', '-c', script, String(version.major), String(version.minor), exactVersionNeeded(version)],
      { env: {}, encoding: 'buffer', maxBuffer: 64 << 20, timeout: COMPILE_TIMEOUT_MS, killSignal: 'SIGKILL' },
      (err, stdout) => {
        if (!err) resolve(stdout);
        else resolve(typeof err.code === 'number' ? err.code : -1);
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/** precompile.py's output, "name\nlength\n" + data per module. */
export function parseCompiled(out: Buffer): Map<string, Buffer> {
  const modules = new Map<string, Buffer>();
  let at = 0;
  while (at < out.length) {
    const nl = out.indexOf(10, at);
    const nl2 = out.indexOf(10, nl + 1);
    if (nl < 0 || nl2 < 0) throw new Error('precompile.py wrote a truncated header');
    const end = nl2 + 1 + Number(out.subarray(nl + 1, nl2).toString('ascii'));
    if (!(end <= out.length)) throw new Error('precompile.py wrote a truncated module');
    modules.set(out.subarray(at, nl).toString('ascii'), out.subarray(nl2 + 1, end));
    at = end;
  }
  return modules;
}

/** The Python chosen per target version, once per memwhy process (null: none here). */
const chosen = new Map<string, string | null>();

/**
 * The compiler for this target's version, or undefined when this machine has
 * no Python that can be it (the agent then compiles in the target).
 * MEMWHY_COMPILE_IN_TARGET=1 forces that, to measure or to compare.
 */
export function agentCompilerFor(target: PythonTarget): AgentCompiler | undefined {
  if (process.env.MEMWHY_COMPILE_IN_TARGET === '1') return undefined;
  const script = readPackageFile('src/agent/precompile.py');
  if (script === undefined) return undefined;
  const version = target.version;
  const key = `${version.major}.${version.minor} ${exactVersionNeeded(version)}`;
  const candidates = compilerCandidates(target);
  if (chosen.get(key) === null || (!chosen.has(key) && candidates.length === 0)) return undefined;
  const cache = new CompiledCache(cacheDir());
  return {
    get python() {
      return chosen.get(key) ?? candidates[0]!;
    },
    async compile(modules) {
      const entries = Object.entries(modules);
      const order = chosen.has(key) ? [chosen.get(key)!] : candidates;
      for (const python of order) {
        const kept = entries.map(([name, source]) => cache.get(cacheKey(python, script, name, source)));
        if (kept.every((data) => data !== undefined)) {
          chosen.set(key, python);
          return new Map(entries.map(([name], i) => [name, kept[i]!]));
        }
      }
      for (const python of order) {
        const out = await runPrecompile(python, script, version, modules);
        if (typeof out === 'number') {
          // Another version: try the next. Any other failure: compile in the target.
          if (out === WRONG_VERSION && !chosen.has(key)) continue;
          break;
        }
        const compiled = parseCompiled(out);
        if (!entries.every(([name]) => compiled.has(name))) break;
        chosen.set(key, python);
        for (const [name, source] of entries) cache.put(cacheKey(python, script, name, source), compiled.get(name)!);
        return compiled;
      }
      if (!chosen.has(key)) chosen.set(key, null);
      return undefined;
    },
  };
}
