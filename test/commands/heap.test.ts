/** `memwhy heap` end to end: the real CLI attaching to real targets of every CPython here. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';

// bin/memwhy rebuilds dist/ when a source is newer: allow for a build on a busy machine.
const SLOW = { timeoutMs: 180_000 };

interface HeapJson {
  pid: number;
  by: string;
  total: { count: number; bytes: number };
  pause_ms: number;
  objects_per_s: number | null;
  types: { type: string; module: string; count: number; bytes: number }[];
  modules?: { module: string; count: number; bytes: number }[];
}

for (const py of interpreters()) {
  test(`memwhy heap --json counts the planted objects exactly (${py.label})`, async () => {
    const target = await startTarget(py.path, ['hold_planted_objects.py', '--strings']);
    try {
      const r = await memwhy(['heap', String(target.pid), '--json', '--top', '5'], SLOW);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as HeapJson;
      process.stderr.write(`# ${py.label}: heap ${doc.total.count} objects, pause ${doc.pause_ms} ms\n`);
      assert.equal(doc.pid, target.pid);
      assert.equal(doc.types.length, 5);
      assert.equal(doc.types.find((t) => t.type === 'fixtures_planted.Planted')?.count, 200_000);
      assert.ok((doc.types.find((t) => t.type === 'str')?.count ?? 0) >= 100_000);
      assert.ok(doc.total.count >= 500_000 && doc.total.bytes > 0 && doc.pause_ms > 0);
      for (let i = 1; i < doc.types.length; i++) assert.ok(doc.types[i - 1]!.bytes >= doc.types[i]!.bytes, 'most bytes first');
      assert.equal(target.alive(), true);
    } finally {
      await target.kill();
    }
  });
}

const newest = interpreters().at(-1)!;

test('memwhy heap prints the table with shares, and --by module groups by module', async () => {
  const target = await startTarget(newest.path, ['hold_planted_objects.py']);
  try {
    const r = await memwhy(['heap', String(target.pid), '--top', '3'], SLOW);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, new RegExp(`^pid ${target.pid}: \\d+ k live objects, [\\d.]+ MiB \\(shallow\\); most bytes in fixtures_planted\\.Planted`));
    assert.match(lines[1]!, /^census took [\d.]+ (ms|s), holding off the target's other threads [\d.]+ (ms|s) at most at a time/);
    assert.match(lines[3]!, /^#\s+count\s+%\s+bytes\s+%\s+cum %\s+type$/);
    assert.match(lines[4]!, /^0\s+200000\s+[\d.]+%\s+[\d.]+ MiB\s+[\d.]+%\s+[\d.]+%\s+fixtures_planted\.Planted$/);
    assert.match(lines[7]!, /^\.\.\. the rest: \d+ objects, [\d.]+ [KM]iB$/);

    const m = await memwhy(['heap', String(target.pid), '--by', 'module', '--json'], SLOW);
    assert.equal(m.code, 0, m.stderr);
    const doc = JSON.parse(m.stdout) as HeapJson;
    assert.equal(doc.by, 'module');
    assert.deepEqual(doc.modules!.find((x) => x.module === 'fixtures_planted')?.count, 200_000);
  } finally {
    await target.kill();
  }
});

test('memwhy heap explains a bad --by or --top in one line', async () => {
  const a = await memwhy(['heap', '1', '--by', 'size'], SLOW);
  assert.equal(a.code, 2);
  assert.equal(a.stderr, 'memwhy: --by takes "type" or "module", not "size"\n');
  const b = await memwhy(['heap', '1', '--top', 'lots'], SLOW);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /^memwhy: --top takes a whole number of at least 1, not "lots"\n$/);
});
