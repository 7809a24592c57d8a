import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { memwhy, ROOT } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';

const run = promisify(execFile);
const dir = tempDir('memwhy-analyze-');
const A = join(dir, 'a.mwd');
const B = join(dir, 'b.mwd');
const SESSIONS = 'module leak_session_cache `_SESSIONS`';

before(async () => {
  // Two dumps of one python, 5,000 sessions apart; and a built memwhy.
  await run(
    '/usr/bin/python3',
    [
      join(ROOT, 'test', 'helpers', 'run_agent_module.py'),
      join(ROOT, 'src', 'agent'),
      '--setup',
      join(FIXTURES, 'leak_session_cache.py'),
      'heapdump.dump',
      JSON.stringify({ path: A }),
      'fixture.grow',
      JSON.stringify({ n: 5000 }),
      'heapdump.dump',
      JSON.stringify({ path: B }),
    ],
    { timeout: 120_000 },
  );
  await memwhy(['--version'], { timeoutMs: 180_000 });
});

test('analyze names the cache that holds the heap, verdict first', async () => {
  const r = await memwhy(['analyze', A, '--top', '5']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /a\.mwd: CPython 3\.\d+\.\d+, pid \d+, dumped \d{4}-\d\d-\d\d .* UTC \(longest pause [\d.]+ (ms|s)\)$/);
  assert.match(r.stdout, /^Largest holder: module leak_session_cache `_SESSIONS` retains 2\d\.\d MiB in 140,000 objects/m);
  assert.match(r.stdout, /\d+\.\d MiB\s+140,000\s+module leak_session_cache `_SESSIONS`\s+bytes 20\.\d MiB/);
  assert.equal(r.stderr, '');
});

test('analyze --json is one document with the holders and the types', async () => {
  const r = await memwhy(['analyze', A, '--json', '--top', '3']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { summary: { objects: number }; retainers: { name: string; kind: string; count: number }[]; types: unknown[] };
  assert.deepEqual([doc.retainers[0]!.name, doc.retainers[0]!.kind, doc.retainers[0]!.count], [SESSIONS, 'global', 140_000]);
  assert.equal(doc.retainers.length, 3);
  assert.equal(doc.types.length, 3);
  assert.ok(doc.summary.objects > 140_000);
});

test('analyze of two dumps shows what grew and who holds it', async () => {
  const r = await memwhy(['analyze', A, B]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.split('\n')[0]!, /^Grew: the Python heap grew; most new objects are held by module leak_session_cache `_SESSIONS`$/);
  assert.match(r.stdout, /\d+\.\d MiB\s+3[45],\d{3}\s+module leak_session_cache `_SESSIONS`/);
  assert.match(r.stdout, /5,000\s+leak_session_cache\.Session/);
  assert.match(r.stdout, /Note: objects are matched by address and type/);
  const j = await memwhy(['analyze', A, B, '--json']);
  const doc = JSON.parse(j.stdout) as { finding: { status: string }; new_by_holder: { name: string }[] };
  assert.deepEqual([doc.finding.status, doc.new_by_holder[0]!.name], ['issue', SESSIONS]);
});

test('analyze says what is wrong with its arguments in one line', async () => {
  const none = await memwhy(['analyze', join(dir, 'missing.mwd')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^memwhy: cannot read .*missing\.mwd: ENOENT/);
  const three = await memwhy(['analyze', A, B, A]);
  assert.notEqual(three.code, 0);
  const top = await memwhy(['analyze', A, '--top', 'x']);
  assert.equal(top.code, 2);
  assert.equal(top.stderr, 'memwhy: --top takes a whole number of at least 1, not "x"\n');
});

test('analyze --html refuses a file memwhy did not write, in one line, before reading the dump', async () => {
  const page = join(dir, 'notes.html');
  writeFileSync(page, 'my notes\n');
  const r = await memwhy(['analyze', A, '--html', page]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  assert.match(r.stderr, /^memwhy: .*notes\.html.*--force/);
  assert.equal(readFileSync(page, 'utf8'), 'my notes\n');
});

test(
  'analyze run again with huge pages asked for gives the same answer and exit status',
  { skip: !readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[madvise]') && 'THP is not in madvise mode here' },
  async () => {
    // MEMWHY_HUGE_PAGES_FROM=0: these small dumps take the path of a big one (src/util/hugePages.ts).
    const env = { MEMWHY_HUGE_PAGES_FROM: '0' };
    const again = await memwhy(['analyze', A, B, '--json', '--top', '3'], { env });
    const here = await memwhy(['analyze', A, B, '--json', '--top', '3'], { env: { MEMWHY_HUGE_PAGES: 'off' } });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, here.stdout);
    const bad = await memwhy(['analyze', join(dir, 'missing.mwd')], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^memwhy: .*missing\.mwd.*\n$/);
  },
);
