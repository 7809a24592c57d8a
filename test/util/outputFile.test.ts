/**
 * The rules for files memwhy writes at a user's path (src/util/outputFile.ts),
 * on a real file system in a fresh directory: whole or not at all, never over
 * an unrelated file, never through a symlink or onto a directory.
 */
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOutputFile, isMemwhyOutput, moveOutputFile, OutputStream, prepareEvidenceDir, writeOutputFile } from '../../src/util/outputFile.js';
import { renderDot, renderSvg } from '../../src/report/refsGraph.js';
import { renderCompareHtml } from '../../src/report/compare.js';
import { recordCsvHeader, recordJson } from '../../src/report/record.js';
import { encodeDump } from '../helpers/dumpWriter.js';
import { tempDir } from '../helpers/tempDir.js';

const MODULE = join(fileURLToPath(import.meta.url), '..', '..', '..', 'src', 'util', 'outputFile.ts');
const REPORT = '<!doctype html>\n<html><head><meta name="generator" content="memwhy 0.1.0"><title>r</title></head><body>new</body></html>\n';

let dir: string;
beforeEach(() => {
  dir = tempDir('memwhy-output-');
});

describe('writing an output file', () => {
  test('writes the whole file and leaves no temp file beside it', () => {
    const path = join(dir, 'report.html');
    writeOutputFile(path, REPORT);
    assert.equal(readFileSync(path, 'utf8'), REPORT);
    assert.deepEqual(readdirSync(dir), ['report.html']);
    assert.equal(statSync(path).mode & 0o777 & ~0o644, 0, 'never group- or world-writable');
  });

  test("a file for the target's memory is made private (0600)", () => {
    const path = join(dir, 'heap.mwd');
    writeOutputFile(path, encodeDump({ objects: [{ type: 'dict', size: 64 }], roots: [0] }), { mode: 0o600 });
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('refuses an existing file memwhy did not write, and leaves it untouched', () => {
    const path = join(dir, 'notes.html');
    writeFileSync(path, '<html>my notes</html>');
    assert.throws(() => writeOutputFile(path, REPORT), {
      name: 'UserError',
      // The command adds its option to replace it anyway (src/commands/errorWords.ts).
      message: `${path} exists and was not written by memwhy: choose another path`,
    });
    assert.equal(readFileSync(path, 'utf8'), '<html>my notes</html>');
    assert.deepEqual(readdirSync(dir), ['notes.html'], 'no temp file left');
  });

  test('replaces its own previous output', () => {
    const path = join(dir, 'report.html');
    writeOutputFile(path, REPORT.replace('new', 'old'));
    writeOutputFile(path, REPORT);
    assert.equal(readFileSync(path, 'utf8'), REPORT);
    assert.deepEqual(readdirSync(dir), ['report.html']);
  });

  test('replaces an empty file (what mktemp makes): there is nothing to lose', () => {
    const path = join(dir, 'tmp.XXXX');
    writeFileSync(path, '');
    writeOutputFile(path, REPORT);
    assert.equal(readFileSync(path, 'utf8'), REPORT);
  });

  test('with force, replaces an unrelated file', () => {
    const path = join(dir, 'notes.html');
    writeFileSync(path, 'mine');
    writeOutputFile(path, REPORT, { force: true });
    assert.equal(readFileSync(path, 'utf8'), REPORT);
    assert.deepEqual(readdirSync(dir), ['notes.html']);
  });

  test('refuses a symlink, even with force, and writes nothing through it', () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    const path = join(dir, 'report.html');
    symlinkSync(victim, path);
    for (const force of [false, true]) {
      assert.throws(() => writeOutputFile(path, REPORT, { force }), {
        name: 'UserError',
        message: `cannot write ${path}: it is a symbolic link, and memwhy does not write through one: give the real path`,
      });
    }
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.deepEqual(readdirSync(dir).sort(), ['report.html', 'victim.txt']);
  });

  test('refuses a directory, even with force', () => {
    const path = join(dir, 'out');
    mkdirSync(path);
    assert.throws(() => writeOutputFile(path, REPORT, { force: true }), {
      name: 'UserError',
      message: `cannot write ${path}: it is a directory: give a file name in it`,
    });
  });

  test('refuses a device', () => {
    assert.throws(() => writeOutputFile('/dev/null', REPORT, { force: true }), /cannot write \/dev\/null: it is not a regular file/);
  });

  test('says so in one line when the directory does not exist', () => {
    const path = join(dir, 'no-such-dir', 'report.html');
    assert.throws(() => checkOutputFile(path), { name: 'UserError', message: `cannot write ${path}: ${join(dir, 'no-such-dir')} does not exist` });
  });

  test('concurrent writers leave one complete file and no temp files', async () => {
    const path = join(dir, 'report.html');
    // Each writer's file is 2 MiB of one letter, so a mix of two would show.
    const script = [
      `import { writeOutputFile } from ${JSON.stringify(MODULE)};`,
      'const letter = process.argv[1];',
      `const body = '<meta name="generator" content="memwhy test">' + letter.repeat(2 << 20);`,
      `for (let i = 0; i < 5; i++) writeOutputFile(${JSON.stringify(path)}, body);`,
    ].join('\n');
    const writers = 'abcdefgh'.split('').map(
      (letter) =>
        new Promise<number | null>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, letter], { stdio: ['ignore', 'ignore', 'inherit'] });
          child.on('error', reject);
          child.on('close', resolve);
        }),
    );
    assert.deepEqual(await Promise.all(writers), Array(8).fill(0));
    const text = readFileSync(path, 'utf8');
    const m = /^<meta name="generator" content="memwhy test">([a-h])\1*$/.exec(text);
    assert.ok(m, "one writer's file, whole");
    assert.equal(text.length, 45 + (2 << 20));
    assert.deepEqual(readdirSync(dir), ['report.html']);
  });
});

describe('an output written bit by bit', () => {
  test('appears only at commit, whole', () => {
    const path = join(dir, 'rss.csv');
    const out = OutputStream.open(path);
    out.write(recordCsvHeader());
    out.write('0.000,1,1\n');
    assert.deepEqual(readdirSync(dir), [out.tempPath.slice(dir.length + 1)], 'only the temp file so far');
    out.commit();
    assert.equal(readFileSync(path, 'utf8'), 't_s,rss,rss_anon\n0.000,1,1\n');
    assert.deepEqual(readdirSync(dir), ['rss.csv']);
  });

  test('abort leaves the destination as it was', () => {
    const path = join(dir, 'rss.csv');
    writeFileSync(path, 't_s,rss,rss_anon\n9,9,9\n');
    const out = OutputStream.open(path);
    out.write('half');
    out.abort();
    assert.equal(readFileSync(path, 'utf8'), 't_s,rss,rss_anon\n9,9,9\n');
    assert.deepEqual(readdirSync(dir), ['rss.csv']);
  });

  test('refuses an unrelated file before anything is written', () => {
    const path = join(dir, 'data.csv');
    writeFileSync(path, 'a,b\n1,2\n');
    assert.throws(() => OutputStream.open(path), /exists and was not written by memwhy/);
    assert.deepEqual(readdirSync(dir), ['data.csv']);
  });
});

describe('moving a finished file into place', () => {
  test("moves it whole, private, over memwhy's own dump but not over another file", () => {
    const dump = encodeDump({ objects: [{ type: 'dict', size: 64 }], roots: [0] });
    const src = join(dir, 'agent.mwd');
    const path = join(dir, 'heap.mwd');
    writeFileSync(path, dump);
    writeFileSync(src, dump);
    moveOutputFile(src, path, { mode: 0o600 });
    assert.deepEqual(readdirSync(dir), ['heap.mwd']);
    assert.equal(statSync(path).mode & 0o777, 0o600);

    const other = join(dir, 'photo.jpg');
    writeFileSync(other, 'JFIF');
    writeFileSync(src, dump);
    assert.throws(() => moveOutputFile(src, other), /photo\.jpg exists and was not written by memwhy/);
    assert.equal(readFileSync(other, 'utf8'), 'JFIF');
  });
});

describe('a directory of evidence', () => {
  test("a new directory is made, an empty one or memwhy's own is used", () => {
    const fresh = join(dir, 'a', 'b');
    prepareEvidenceDir(fresh);
    assert.ok(statSync(fresh).isDirectory());
    writeFileSync(join(fresh, 'evidence.json'), '{"format":"memwhy-evidence/1"}');
    writeFileSync(join(fresh, 'report.html'), REPORT);
    prepareEvidenceDir(fresh);
  });

  test('a non-empty directory without memwhy evidence is refused, unless forced', () => {
    const home = join(dir, 'project');
    mkdirSync(home);
    writeFileSync(join(home, 'main.py'), 'print(1)\n');
    assert.throws(() => prepareEvidenceDir(home), {
      name: 'UserError',
      message: `${home} is not empty and holds no memwhy evidence: choose a new or empty directory`,
    });
    prepareEvidenceDir(home, { force: true });
  });

  test('a symlink or a file is refused', () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'link'));
    assert.throws(() => prepareEvidenceDir(join(dir, 'link'), { force: true }), /it is a symbolic link/);
    writeFileSync(join(dir, 'file'), '');
    assert.throws(() => prepareEvidenceDir(join(dir, 'file'), { force: true }), /it is not a directory/);
  });
});

describe('memwhy knows its own files', () => {
  const graph = { nodes: [{ id: '0x1', label: 'module app', kind: 'module' as const, type: 'module' }], edges: [], title: 'who holds X' };
  const formats: [string, string | Buffer][] = [
    ['a heap dump', encodeDump({ objects: [{ type: 'dict', size: 64 }], roots: [0] })],
    ['saved evidence', '{"format":"memwhy-evidence/1","memwhy_version":"0.1.0"}'],
    ['a JSON RSS record', recordJson({ command: ['x'], allocator: 'glibc', env: {}, interval_s: 1, exit_code: 0, wall_s: 1 }, [])],
    ['a CSV RSS record', recordCsvHeader() + '0.000,1,1\n'],
    ['an SVG graph', renderSvg(graph, '0.1.0')],
    ['a DOT graph', renderDot(graph, '0.1.0')],
    ['a compare page', renderCompareHtml({ command: ['x'], runs: [], summary: [] }, '0.1.0')],
    ['a diagnosis page', REPORT],
  ];
  for (const [what, data] of formats) {
    test(`${what} is recognised as memwhy's own`, () => {
      assert.ok(isMemwhyOutput(Buffer.from(data)));
    });
  }

  test('other files are not', () => {
    for (const data of ['<html><body>mine</body></html>', '{"name": "x"}', 'a,b\n1,2\n', '<svg xmlns="http://www.w3.org/2000/svg"></svg>', 'digraph g { a -> b }', '\x7fELF\x02\x01\x01']) {
      assert.ok(!isMemwhyOutput(Buffer.from(data)), data);
    }
  });
});
