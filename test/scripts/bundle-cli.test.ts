/**
 * The CLI bundle (scripts/bundle-cli.mjs, dist/memwhy.cjs): what the
 * package's "bin" and bin/memwhy run. Laid out as npm installs the package
 * (package.json's "files", no TypeScript, no node_modules beside it) and
 * started through a symlink as npm's bin link does, it finds memwhy's own
 * files (package.json, the agent's .py files, the HTML explorer) one
 * directory up from itself.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error: a plain ES module without types (as build-viewer.mjs in test/report/diagnosisHtml.test.ts).
import { bundleCli, CLI_BUNDLE } from '../../scripts/bundle-cli.mjs';
// @ts-expect-error: a plain ES module without types.
import { buildExplorer, buildViewer } from '../../scripts/build-viewer.mjs';
import { layoutFor } from '../../src/cpython/layouts.js';
import { ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';

const pkgJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; files: string[] };

// The installed package, and a bin/ holding npm's link to its "bin".
const prefix = tempDir('memwhy-bundle-');
const pkg = join(prefix, 'lib', 'memwhy');
const link = join(prefix, 'bin', 'memwhy');
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: prefix, LANG: 'C.UTF-8' };

before(async () => {
  await bundleCli({ outfile: join(pkg, CLI_BUNDLE) });
  for (const [name, built] of [
    ['report-viewer', (await buildViewer({ write: false })) as { js: string; css: string }],
    ['heap-explorer', (await buildExplorer({ write: false })) as { js: string; css: string }],
  ] as const) {
    writeFileSync(join(pkg, 'dist', `${name}.js`), built.js);
    writeFileSync(join(pkg, 'dist', `${name}.css`), built.css);
  }
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  mkdirSync(join(pkg, 'src', 'agent'), { recursive: true });
  for (const f of readdirSync(join(ROOT, 'src', 'agent')).filter((f) => f.endsWith('.py'))) copyFileSync(join(ROOT, 'src', 'agent', f), join(pkg, 'src', 'agent', f));
  cpSync(join(ROOT, 'workloads'), join(pkg, 'workloads'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  mkdirSync(join(prefix, 'bin'));
  symlinkSync(join(pkg, pkgJson.bin.memwhy!), link);
});

function run(command: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return runCli(command, args, { cwd: prefix, env, timeoutMs });
}

const python = () =>
  interpreters()
    .filter((p) => layoutFor(p))
    .at(-1)!;

test('package.json\'s "bin" is the bundle the build writes, and "files" ships it', () => {
  assert.deepEqual(pkgJson.bin, { memwhy: CLI_BUNDLE });
  assert.ok(pkgJson.files.includes(CLI_BUNDLE.split('/')[0]!), pkgJson.files.join(', '));
});

test("the bundle runs by itself through npm's bin link and reads the package's version", async () => {
  assert.ok(statSync(join(pkg, CLI_BUNDLE)).mode & 0o111, 'executable');
  const r = await run(link, ['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${pkgJson.version}\n`);
});

test('bin/memwhy in an installed package runs the bundle: no npm install, no build', async () => {
  const r = await run(join(pkg, 'bin', 'memwhy'), ['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${pkgJson.version}\n`);
  assert.equal(r.stderr, '');
  assert.equal(existsSync(join(pkg, 'node_modules')), false);
});

test("the bundle's exec sends the package's agent files into the target", async () => {
  const target = await startTarget(python().path, ['idle_sleeper.py']);
  try {
    const r = await run(link, ['exec', String(target.pid), '-c', 'print(6*7)']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '42\n');
  } finally {
    await target.kill();
  }
});

test("the bundle's analyze --html inlines the package's heap explorer", async () => {
  const target = await startTarget(python().path, ['idle_sleeper.py']);
  const dump = join(prefix, 'idle.mwd');
  try {
    const d = await run(link, ['dump', String(target.pid), '-o', dump], 120_000);
    assert.equal(d.code, 0, d.stderr);
  } finally {
    await target.kill();
  }
  const html = join(prefix, 'idle.html');
  const r = await run(link, ['analyze', dump, '--html', html, '--top', '3'], 120_000);
  assert.equal(r.code, 0, r.stderr);
  const page = readFileSync(html, 'utf8');
  assert.ok(page.includes(readFileSync(join(pkg, 'dist', 'heap-explorer.css'), 'utf8').slice(0, 200)), 'the explorer is inlined');
});
