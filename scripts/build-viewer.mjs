#!/usr/bin/env node
// Bundles the HTML report's viewer (src/report/html/viewer.ts and viewer.css,
// with uPlot and dagre) into dist/report-viewer.js and dist/report-viewer.css,
// and the heap dump explorer (explorer.ts, explorer.css) into dist/heap-explorer.*.
// It runs at package build time (npm run build, prepare, bin/memwhy's rebuild),
// so `memwhy diagnose --html` only inlines two files and needs no bundler.
//
//   node scripts/build-viewer.mjs      writes dist/ and prints the sizes
//   buildViewer({ write: false })      returns { js, css } (the tests use it)
import { build } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'src/report/html');
const outDir = path.join(root, 'dist');

// Browsers of the last few years: what optional chaining and ?? need, nothing newer.
const TARGET = ['chrome91', 'firefox90', 'safari15', 'edge91'];

const common = {
  bundle: true,
  minify: true,
  write: false,
  target: TARGET,
  logLevel: 'warning',
  // uPlot and dagre are MIT: their notices travel with the bundle.
  legalComments: 'eof',
};

/** @returns {Promise<{ js: string; css: string }>} */
export async function buildViewer({ write = true } = {}) {
  return bundle('viewer', 'report-viewer', write);
}

/** The heap dump explorer (src/report/html/explorer.ts), for `memwhy analyze --html`. @returns {Promise<{ js: string; css: string }>} */
export async function buildExplorer({ write = true } = {}) {
  return bundle('explorer', 'heap-explorer', write);
}

async function bundle(source, name, write) {
  const [js, css] = await Promise.all([
    build({ ...common, entryPoints: [path.join(srcDir, `${source}.ts`)], format: 'iife', platform: 'browser', outfile: path.join(outDir, `${name}.js`) }),
    build({ ...common, entryPoints: [path.join(srcDir, `${source}.css`)], outfile: path.join(outDir, `${name}.css`) }),
  ]);
  const out = { js: js.outputFiles[0].text, css: css.outputFiles[0].text };
  // The page inlines these in <script> and <style>: text that would end or
  // confuse those elements must never be in them (the renderer escapes
  // `</script` too; this catches the cases it cannot fix).
  for (const [file, text, bad] of [
    [`${name}.js`, out.js, /<!--|<script/i],
    [`${name}.css`, out.css, /<\/style|<!--/i],
  ]) {
    const m = bad.exec(text);
    if (m) throw new Error(`${file} contains "${m[0]}", which cannot be inlined in an HTML page`);
  }
  if (write) {
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, `${name}.js`), out.js);
    await writeFile(path.join(outDir, `${name}.css`), out.css);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { js, css } = await buildViewer();
  const explorer = await buildExplorer();
  const kib = (s) => `${(Buffer.byteLength(s) / 1024).toFixed(1)} KiB`;
  console.log(`viewer: dist/report-viewer.js ${kib(js)}, dist/report-viewer.css ${kib(css)}`);
  console.log(`explorer: dist/heap-explorer.js ${kib(explorer.js)}, dist/heap-explorer.css ${kib(explorer.css)}`);
}
