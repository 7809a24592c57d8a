/**
 * Every command that writes a file the user named follows the rules of
 * src/util/outputFile.ts, end to end through the real CLI: an unrelated file
 * is refused (before any slow or intrusive work) and left untouched, memwhy's
 * own earlier output is replaced, --force replaces anything but a symlink or
 * a directory, and no temp file is left behind.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memwhy, ROOT } from '../helpers/cli.js';
import { interpreters } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';
import { tracerPid } from '../helpers/procfs.js';
import { tempDir } from '../helpers/tempDir.js';

const PYTHON = '/usr/bin/python3';
/** No process has this pid (pid_max is at most 2^22): a command that got as far as attaching would say so. */
const NO_PID = String(2 ** 22 + 12345);
const EVIDENCE = join(ROOT, 'test', 'analyze', 'recorded', 'evidence-no-growth.json');

/** One line on stderr, naming the file and saying what to do. */
function assertRefused(r: { code: number; stdout: string; stderr: string }, path: string): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `memwhy: ${path} exists and was not written by memwhy: choose another path or pass --force\n`);
}

before(async () => {
  // bin/memwhy builds dist/ on first use and says so on stderr; do that outside the tests.
  await memwhy(['--version'], { timeoutMs: 180_000 });
});

describe('memwhy report --html', () => {
  function evidenceDir(): string {
    const dir = tempDir('memwhy-outputs-');
    mkdirSync(join(dir, 'ev'));
    copyFileSync(EVIDENCE, join(dir, 'ev', 'evidence.json'));
    return dir;
  }

  test('refuses a file memwhy did not write, replaces it with --force, then replaces its own page', async () => {
    const dir = evidenceDir();
    const page = join(dir, 'notes.html');
    writeFileSync(page, '<html>my notes</html>');
    assertRefused(await memwhy(['report', join(dir, 'ev'), '--html', page]), page);
    assert.equal(readFileSync(page, 'utf8'), '<html>my notes</html>');

    const forced = await memwhy(['report', join(dir, 'ev'), '--html', page, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(page, 'utf8'), /<meta name="generator" content="memwhy /);

    writeFileSync(join(dir, 'marker'), '');
    const again = await memwhy(['report', join(dir, 'ev'), '--html', page]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(readFileSync(page, 'utf8'), /no-growth/);
    assert.deepEqual(readdirSync(dir).sort(), ['ev', 'marker', 'notes.html'], 'no temp file left');
  });

  test('refuses a symlink and a directory even with --force', async () => {
    const dir = evidenceDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    const link = join(dir, 'report.html');
    symlinkSync(victim, link);
    const r = await memwhy(['report', join(dir, 'ev'), '--html', link, '--force']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `memwhy: cannot write ${link}: it is a symbolic link, and memwhy does not write through one: give the real path\n`);
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    const d = await memwhy(['report', join(dir, 'ev'), '--html', join(dir, 'ev'), '--force']);
    assert.equal(d.code, 2);
    assert.equal(d.stderr, `memwhy: cannot write ${join(dir, 'ev')}: it is a directory: give a file name in it\n`);
  });
});

describe('commands that attach refuse an unrelated output before attaching', () => {
  test('diagnose --html and --save', async () => {
    const dir = tempDir('memwhy-outputs-');
    const page = join(dir, 'page.html');
    writeFileSync(page, 'mine');
    assertRefused(await memwhy(['diagnose', NO_PID, '--html', page]), page);

    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'main.py'), 'print(1)\n');
    const r = await memwhy(['diagnose', NO_PID, '--save', project]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `memwhy: ${project} is not empty and holds no memwhy evidence: choose a new or empty directory or pass --force\n`);
    assert.deepEqual(readdirSync(project), ['main.py']);
  });

  test('refs --graph', async () => {
    const dir = tempDir('memwhy-outputs-');
    const svg = join(dir, 'logo.svg');
    writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    assertRefused(await memwhy(['refs', NO_PID, '--type', 'Session', '--graph', svg]), svg);
  });

  test('dump -o', async () => {
    const dir = tempDir('memwhy-outputs-');
    const file = join(dir, 'thesis.pdf');
    writeFileSync(file, '%PDF-1.7');
    assertRefused(await memwhy(['dump', NO_PID, '-o', file]), file);
    assert.equal(readFileSync(file, 'utf8'), '%PDF-1.7');
  });

  test('core -o, where any existing core needs --force', async () => {
    const dir = tempDir('memwhy-outputs-');
    const file = join(dir, 'core.1');
    writeFileSync(file, '\x7fELF');
    const r = await memwhy(['core', NO_PID, '-o', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `memwhy: ${file} exists, and memwhy cannot tell a core file it wrote from another: choose another path or pass --force\n`);
    assert.deepEqual(readdirSync(dir), ['core.1']);
  });

  test('demo --out', async () => {
    const dir = tempDir('memwhy-outputs-');
    const page = join(dir, 'memwhy-demo-leaky-service.html');
    writeFileSync(page, 'mine');
    assertRefused(await memwhy(['demo', '--out', dir, '--python', PYTHON]), page);
  });
});

describe('commands that run a program refuse an unrelated output before it starts', () => {
  /** A program that leaves a trace, so a test can tell whether it ran. */
  const program = (dir: string): string[] => [PYTHON, '-c', `open(${JSON.stringify(join(dir, 'ran'))}, "w").close()`];

  test('run --record: CSV and JSON, its own record replaced, --force for others', async () => {
    const dir = tempDir('memwhy-outputs-');
    const csv = join(dir, 'data.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    assertRefused(await memwhy(['run', '--record', csv, '--', ...program(dir)]), csv);
    assert.equal(existsSync(join(dir, 'ran')), false, 'the program did not start');
    assert.equal(readFileSync(csv, 'utf8'), 'a,b\n1,2\n');

    const forced = await memwhy(['run', '--record', csv, '--interval', '50ms', '--force', '--', ...program(dir)]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(csv, 'utf8'), /^t_s,rss,rss_anon\n/);
    const again = await memwhy(['run', '--record', csv, '--interval', '50ms', '--', ...program(dir)]);
    assert.equal(again.code, 0, again.stderr);

    const json = join(dir, 'rss.json');
    for (let i = 0; i < 2; i++) {
      const r = await memwhy(['run', '--record', json, '--interval', '50ms', '--', ...program(dir)]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((JSON.parse(readFileSync(json, 'utf8')) as { format: string }).format, 'memwhy-rss-record/1');
    assert.deepEqual(readdirSync(dir).sort(), ['data.csv', 'ran', 'rss.json'], 'no temp file left');
  });

  test('compare --html', async () => {
    const dir = tempDir('memwhy-outputs-');
    const page = join(dir, 'page.html');
    writeFileSync(page, 'mine');
    const args = ['compare', '--allocators', 'glibc', '--interval', '50ms', '--html', page];
    assertRefused(await memwhy([...args, '--', ...program(dir)]), page);
    assert.equal(existsSync(join(dir, 'ran')), false, 'the workload did not start');

    const forced = await memwhy([...args, '--force', '--', ...program(dir)]);
    assert.equal(forced.code, 0, forced.stderr);
    const again = await memwhy([...args, '--', ...program(dir)]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(readFileSync(page, 'utf8'), /<meta name="generator" content="memwhy /);
    assert.deepEqual(readdirSync(dir).sort(), ['page.html', 'ran']);
  });
});

const py = interpreters().find((p) => p.path === PYTHON) ?? interpreters()[0]!;

describe(`outputs of commands that attach, on ${py.label}`, () => {
  let target: Target;
  before(async () => {
    target = await startTarget(py.path, ['leak_session_cache.py']);
  });
  after(() => target.kill());

  test('dump writes a private file, replaces its own dump, and leaves no temp file', async () => {
    const dir = tempDir('memwhy-outputs-');
    const file = join(dir, 'heap.mwd');
    for (let i = 0; i < 2; i++) {
      const r = await memwhy(['dump', String(target.pid), '-o', file], { timeoutMs: 180_000 });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(readFileSync(file).subarray(0, 8).toString('latin1'), 'MEMWHYD1');
    assert.equal(statSync(file).mode & 0o077, 0, "not readable by others: it holds the target's names");
    assert.deepEqual(readdirSync(dir), ['heap.mwd']);
    assert.ok(target.alive());
    assert.equal(tracerPid(target.pid), 0);
  });

  test('core writes a private file and replaces an existing core only with --force', async () => {
    const dir = tempDir('memwhy-outputs-');
    const file = join(dir, 'app.core');
    const first = await memwhy(['core', String(target.pid), '-o', file], { timeoutMs: 180_000 });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(statSync(file).mode & 0o077, 0, 'not readable by others: it holds all the memory');
    const size = statSync(file).size;
    const refused = await memwhy(['core', String(target.pid), '-o', file]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^memwhy: .*app\.core exists, and memwhy cannot tell a core file it wrote from another: choose another path or pass --force\n$/);
    assert.equal(statSync(file).size, size);
    const forced = await memwhy(['core', String(target.pid), '-o', file, '--force'], { timeoutMs: 180_000 });
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(readdirSync(dir), ['app.core'], 'no temp file left');
    assert.ok(target.alive());
  });
});
