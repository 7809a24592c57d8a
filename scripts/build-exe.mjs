#!/usr/bin/env node
// Builds memwhy as one executable file, dist-exe/memwhy, for hosts and
// containers without Node >= 20 (npm run build:exe). It is Node's
// single-executable application (SEA, https://nodejs.org/api/single-executable-applications.html):
//
//   1. esbuild bundles src/cli.ts and its dependencies into one CommonJS
//      script (a SEA runs one script: no ESM import graph, no node_modules),
//      the same bundle the build writes to dist/memwhy.cjs (scripts/bundle-cli.mjs);
//   2. the files memwhy reads at run time become SEA assets under their
//      package paths (src/agent/*.py, the HTML viewer built in memory like
//      scripts/build-viewer.mjs does, package.json's name and version), with
//      a manifest listing them, read through src/installation.ts;
//   3. `node --experimental-sea-config` writes the blob, and postject
//      injects it into a copy of the node binary running this script.
//
// The executable is that node binary plus memwhy: same OS, CPU and C
// library (a glibc build does not run on Alpine's musl). Inputs are fixed
// (sorted asset lists, no timestamps, no code cache), so the same checkout
// and node give the same bytes.
//
//   node scripts/build-exe.mjs      writes dist-exe/memwhy, prints its size and the build time
//   buildExe({ outDir })            the same into outDir, returns { file, bytes, seconds } (the test uses it)
//   exeBuildUnavailable()           why this node cannot build it, or undefined
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildExplorer, buildViewer } from './build-viewer.mjs';
import { bundleCli } from './bundle-cli.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Node's SEA fuse: the string postject flips so the binary looks for its blob
// (node/src/node_sea.cc, SEA_SENTINEL in the Node docs' postject step).
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
// The name installation.ts reads the asset list from (SEA_MANIFEST there).
const MANIFEST = 'sea-manifest.json';

/** @returns {Promise<{ file: string; bytes: number; seconds: number }>} */
export async function buildExe({ outDir = path.join(root, 'dist-exe'), log = (/** @type {string} */ line) => console.log(line) } = {}) {
  const started = process.hrtime.bigint();
  const unavailable = exeBuildUnavailable();
  if (unavailable) throw new Error(unavailable);
  const work = path.join(outDir, 'build');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  // 1. One CommonJS script: the CLI bundle the build writes to dist/memwhy.cjs
  // (scripts/bundle-cli.mjs). Its import.meta.url is then the executable's
  // own URL, which installation.ts only hands to createRequire (to reach
  // node:sea) when running as the executable.
  const main = path.join(work, 'memwhy.cjs');
  const bundled = await bundleCli({ outfile: main, write: false });
  // The SEA runs the script as a CommonJS function body, where a #! line is a syntax error.
  writeFileSync(main, bundled.text.replace(/^#!.*\n/, ''));

  // 2. The assets, keyed by their path in the package.
  /** @type {Record<string, string>} asset key -> file */
  const assets = {};
  const put = (/** @type {string} */ key, /** @type {string} */ text) => {
    const file = path.join(work, 'assets', key);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    assets[key] = file;
  };
  for (const f of readdirSync(path.join(root, 'src/agent'))
    .filter((f) => f.endsWith('.py'))
    .sort()) {
    put(`src/agent/${f}`, readFileSync(path.join(root, 'src/agent', f), 'utf8'));
  }
  for (const f of readdirSync(path.join(root, 'workloads'))
    .filter((f) => f.endsWith('.py'))
    .sort()) {
    put(`workloads/${f}`, readFileSync(path.join(root, 'workloads', f), 'utf8'));
  }
  const viewer = await buildViewer({ write: false });
  const explorer = await buildExplorer({ write: false });
  put('dist/report-viewer.js', viewer.js);
  put('dist/report-viewer.css', viewer.css);
  put('dist/heap-explorer.js', explorer.js);
  put('dist/heap-explorer.css', explorer.css);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  put('package.json', JSON.stringify({ name: pkg.name, version: pkg.version }) + '\n');
  put(MANIFEST, JSON.stringify({ files: Object.keys(assets).sort() }) + '\n');

  // 3. The blob, injected into a copy of this node. The blob keeps main's
  // path as given (for stack traces): relative to the work directory, so the
  // same sources give the same bytes wherever they are built.
  const rel = (/** @type {string} */ file) => path.relative(work, file);
  const blob = path.join(work, 'memwhy.blob');
  const config = path.join(work, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify(
      {
        main: rel(main),
        output: rel(blob),
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: false,
        assets: Object.fromEntries(Object.entries(assets).map(([key, file]) => [key, rel(file)])),
      },
      null,
      2,
    ) + '\n',
  );
  // It says "Wrote single executable preparation blob" on stderr: shown only if it fails.
  execFileSync(process.execPath, ['--experimental-sea-config', rel(config)], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  const exe = path.join(outDir, 'memwhy');
  rmSync(exe, { force: true });
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  const { inject } = (await import('postject')).default;
  // postject warns "Can't find string offset for section name '.note.100'" on
  // ELF; harmless (the Node docs' own example prints it), so it stays quiet here.
  const warn = console.warn;
  console.warn = () => {};
  try {
    await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SENTINEL_FUSE });
  } finally {
    console.warn = warn;
  }

  const bytes = statSync(exe).size;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const shown = path.relative(process.cwd(), exe).startsWith('..') ? exe : path.relative(process.cwd(), exe);
  log(`memwhy executable: ${shown}, ${(bytes / 2 ** 20).toFixed(1)} MiB (node ${process.version} ${process.platform}-${process.arch}), built in ${seconds.toFixed(1)} s`);
  return { file: exe, bytes, seconds };
}

/**
 * Why the executable cannot be built here, or undefined: the node running
 * this must make SEAs with assets (Node >= 20.12) and carry the fuse (some
 * distributions' builds leave SEA out), and postject must be installed.
 * @returns {string | undefined}
 */
export function exeBuildUnavailable() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) return `building the executable needs Node >= 20.12 (SEA assets); this is ${process.version}`;
  if (!readFileSync(process.execPath).includes(SENTINEL_FUSE)) {
    return `${process.execPath} has no SEA fuse (${SENTINEL_FUSE}): build with a node from nodejs.org`;
  }
  if (!existsSync(path.join(root, 'node_modules/postject/package.json'))) return 'postject is not installed: run npm ci';
  return undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    await buildExe();
  } catch (err) {
    console.error(`build-exe: ${err instanceof Error ? err.message : err}`);
    process.exitCode = 1;
  }
}
