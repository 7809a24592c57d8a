/**
 * memwhy's own files, read at run time (the agent's .py files, the HTML
 * viewer, package.json), and the command that runs this memwhy again. They
 * come from one of two places:
 *
 * - a checkout or an npm install: files under the package root (this
 *   module is in the CLI bundle dist/memwhy.cjs (scripts/bundle-cli.mjs,
 *   where import.meta.url is the bundle's URL), tsc's dist/installation.js,
 *   or, under tsx, src/installation.ts; the root is one level up from each);
 * - the single executable (`npm run build:exe`, scripts/build-exe.mjs):
 *   Node's SEA assets, keyed by the same package-relative paths, with a
 *   manifest listing them (Node 20's node:sea has no getAssetKeys).
 *
 * Every such read goes through here, so the executable needs no file
 * beside it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The asset the build writes with every asset key in it (scripts/build-exe.mjs). */
export const SEA_MANIFEST = 'sea-manifest.json';

interface SeaApi {
  isSea(): boolean;
  getAsset(key: string, encoding: string): string;
}

let sea: SeaApi | null | undefined;

/** node:sea when running as the single executable, otherwise null. */
function seaApi(): SeaApi | null {
  if (sea !== undefined) return sea;
  sea = null;
  try {
    // node:sea is Node >= 20.12; package.json allows any 20, where it is
    // missing and memwhy cannot be an executable anyway.
    const api = createRequire(import.meta.url)('node:sea') as SeaApi;
    if (api.isSea()) sea = api;
  } catch {
    // not there: an ordinary install
  }
  return sea;
}

export function isSingleExecutable(): boolean {
  return seaApi() !== null;
}

let manifest: readonly string[] | undefined;

function seaKeys(api: SeaApi): readonly string[] {
  manifest ??= (JSON.parse(api.getAsset(SEA_MANIFEST, 'utf8')) as { files: string[] }).files;
  return manifest;
}

function packageRoot(): string {
  return fileURLToPath(new URL('../', import.meta.url));
}

/** A file of memwhy's, by its path in the package ("src/agent/agent.py"); undefined if there is none. */
export function readPackageFile(path: string): string | undefined {
  const api = seaApi();
  if (api) return seaKeys(api).includes(path) ? api.getAsset(path, 'utf8') : undefined;
  const file = packageRoot() + path;
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/**
 * A file of memwhy's as a path on disk, for a program that must be given a
 * path; undefined inside the single executable (its files are not on disk:
 * readPackageFile has them) or if there is none.
 */
export function packageFilePath(path: string): string | undefined {
  if (seaApi()) return undefined;
  const file = packageRoot() + path;
  return existsSync(file) ? file : undefined;
}

/** The names of the files in one of memwhy's directories ("src/agent"), sorted; [] if there is none. */
export function listPackageDir(dir: string): string[] {
  const api = seaApi();
  if (api) {
    const prefix = dir.replace(/\/$/, '') + '/';
    return seaKeys(api)
      .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map((k) => k.slice(prefix.length))
      .sort();
  }
  const path = packageRoot() + dir;
  return existsSync(path) ? readdirSync(path).sort() : [];
}

/** Where the files are read from, for error messages. */
export function installationDescription(): string {
  return isSingleExecutable() ? `the executable ${process.execPath}` : packageRoot();
}

/**
 * The command that runs this very memwhy (watch starts `diagnose` with it):
 * the executable itself when single, otherwise node with its flags and the
 * script it was started with (dist/memwhy.cjs, dist/cli.js, or src/cli.ts
 * under tsx).
 */
export function selfCommand(): { file: string; args: string[] } {
  if (isSingleExecutable()) return { file: process.execPath, args: [] };
  return { file: process.execPath, args: [...process.execArgv, process.argv[1]!] };
}
