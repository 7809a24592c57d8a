#!/usr/bin/env node
// Bundles the CLI (src/cli.ts and everything it imports, commander included)
// into one CommonJS file with esbuild. Node starts one script much faster
// than the ~200 ES modules tsc writes to dist/ (each one resolved, read and
// linked): this is what bin/memwhy and the package's "bin" run, and what the
// single executable carries (scripts/build-exe.mjs).
//
//   node scripts/bundle-cli.mjs       writes dist/memwhy.cjs (npm run build, prepare, bin/memwhy's rebuild)
//   bundleCli({ write: false })       returns { text, bytes } without writing (build-exe.mjs)
//
// The bundle sits in dist/ beside tsc's output on purpose: src/installation.ts
// finds memwhy's own files (src/agent/*.py, dist/report-viewer.*,
// package.json) one directory up from the running module, and from
// dist/memwhy.cjs that is the package root, as it is from dist/installation.js.
// import.meta.url does not exist in CommonJS: it becomes the bundle's own
// file URL (inside the single executable, the executable's).
import { build } from 'esbuild';
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the build writes the bundle, relative to the package root (package.json's "bin" and bin/memwhy run it). */
export const CLI_BUNDLE = 'dist/memwhy.cjs';

/**
 * @param {{ outfile?: string; write?: boolean }} [options]
 * @returns {Promise<{ file: string; text: string; bytes: number }>}
 */
export async function bundleCli({ outfile = path.join(root, CLI_BUNDLE), write = true } = {}) {
  const bundled = await build({
    entryPoints: [path.join(root, 'src/cli.ts')],
    // Paths in the bundle's comments are then the package's, wherever the build runs.
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'warning',
    legalComments: 'eof',
    define: { 'import.meta.url': '__memwhy_import_meta_url' },
    // "use strict" first, as esbuild would put it: the sources are ES modules,
    // strict throughout, and a directive after the banner's line would be none.
    banner: { js: "'use strict';\nvar __memwhy_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
    outfile,
  });
  // src/cli.ts's #! line comes first: the file runs as a command by itself.
  const text = bundled.outputFiles[0].text;
  if (write) {
    // Whole or not at all: a memwhy starting while it is rebuilt reads the old file or the new one.
    mkdirSync(path.dirname(outfile), { recursive: true });
    const tmp = `${outfile}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, outfile);
  }
  return { file: outfile, text, bytes: Buffer.byteLength(text) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    const { file, bytes } = await bundleCli();
    console.log(`cli: ${path.relative(process.cwd(), file)} ${(bytes / 1024).toFixed(1)} KiB`);
  } catch (err) {
    console.error(`bundle-cli: ${err instanceof Error ? err.message : err}`);
    process.exitCode = 1;
  }
}
