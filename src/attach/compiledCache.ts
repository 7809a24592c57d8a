/**
 * The agent's compiled modules kept between memwhy runs: starting a Python
 * to compile them (src/attach/agentCompiler.ts) took 40-300 ms per command,
 * on top of every attach. One file per module, named by a hash of what made
 * it: the compiling Python (path, inode, size, time), precompile.py and the
 * module's source, so a changed memwhy or an upgraded Python never meets an
 * old file.
 *
 * The files are code that runs inside the target, with its rights: memwhy
 * only reads them from a directory that is its own user's and no one
 * else's, and writes them whole (a rename) so that a run beside it never
 * reads half of one. $MEMWHY_CACHE_DIR moves it (default
 * $XDG_CACHE_HOME/memwhy or ~/.cache/memwhy); MEMWHY_CACHE_DIR=off turns it off.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** More files than this and the oldest go: a few memwhy versions times a few Pythons. */
const MAX_FILES = 400;

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEMWHY_CACHE_DIR === 'off') return undefined;
  if (env.MEMWHY_CACHE_DIR) return env.MEMWHY_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'memwhy');
}

/** Owned by memwhy's user, and no one else may read or write it. */
function mineAlone(st: Stats): boolean {
  return st.uid === (process.geteuid?.() ?? st.uid) && (st.mode & 0o077) === 0;
}

/** The directory, made if missing, when it is memwhy's user's alone; otherwise undefined (not used). */
function ownDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (!st.isDirectory() || !mineAlone(st)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** Names what compiled a module: the Python as a file (a reinstall changes it), the compiler script, the source. */
export function cacheKey(python: string, script: string, name: string, source: string): string {
  const st = statSync(python);
  const hash = createHash('sha256');
  for (const part of [python, String(st.dev), String(st.ino), String(st.size), String(st.mtimeMs), script, name, source]) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 40);
}

export class CompiledCache {
  /** dir: cacheDir(), or undefined for none. */
  constructor(private readonly dir: string | undefined) {}

  get(key: string): Buffer | undefined {
    const dir = this.dir && ownDir(this.dir);
    if (!dir) return undefined;
    try {
      const file = join(dir, `${key}.marshal`);
      if (!mineAlone(statSync(file))) return undefined;
      return readFileSync(file);
    } catch {
      return undefined;
    }
  }

  put(key: string, data: Buffer): void {
    const dir = this.dir && ownDir(this.dir);
    if (!dir) return;
    const tmp = join(dir, `.${key}.${process.pid}.tmp`);
    try {
      writeFileSync(tmp, data, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, join(dir, `${key}.marshal`));
      this.prune(dir);
    } catch {
      // A cache: memwhy works the same without it.
      try {
        unlinkSync(tmp);
      } catch {
        // gone already
      }
    }
  }

  private prune(dir: string): void {
    const files = readdirSync(dir).filter((f) => f.endsWith('.marshal'));
    if (files.length <= MAX_FILES) return;
    const byAge = files.map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { f } of byAge.slice(0, files.length - MAX_FILES)) unlinkSync(join(dir, f));
  }
}
