/** `memwhy refs` end to end: chains to the planted objects' global, on every CPython here, and the graph files. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';

// bin/memwhy rebuilds dist/ when a source is newer: allow for a build on a busy machine.
const SLOW = { timeoutMs: 180_000 };
import type { RefsResult } from '../../src/collect/refs.js';
import { tempDir } from '../helpers/tempDir.js';

const dir = tempDir('memwhy-refs-');
after(() => rmSync(dir, { recursive: true, force: true }));

for (const py of interpreters()) {
  test(`memwhy refs names the global that holds the planted objects (${py.label})`, async () => {
    const target = await startTarget(py.path, ['hold_planted_objects.py']);
    try {
      const r = await memwhy(['refs', String(target.pid), '--type', 'fixtures_planted.Planted', '--json'], SLOW);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as RefsResult;
      assert.equal(doc.instances, 200_000);
      assert.equal(doc.chains.length, 3);
      for (const c of doc.chains) {
        assert.deepEqual(
          c.hops.map((h) => h.label.replace(/\[\d+\]$/, '[i]')),
          ['module fixtures_planted', 'list PLANTED[i]', 'fixtures_planted.Planted'],
        );
      }
    } finally {
      await target.kill();
    }
  });
}

test('memwhy refs prints the verdict and chains, and draws them as SVG and DOT', async () => {
  const target = await startTarget(interpreters().at(-1)!.path, ['hold_planted_objects.py']);
  try {
    const svg = join(dir, 'planted.svg');
    const r = await memwhy(['refs', String(target.pid), '--type', 'Planted', '--samples', '2', '--graph', svg], SLOW);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^pid ${target.pid}: 200000 live fixtures_planted\\.Planted objects; held by module fixtures_planted global PLANTED \\(2 of 2 samples\\)\\n`));
    assert.match(r.stdout, /\n {2}module fixtures_planted\n {4}-> list PLANTED\[\d+\]\n {4}-> fixtures_planted\.Planted\n/);
    const drawing = readFileSync(svg, 'utf8');
    assert.match(drawing, /^<svg /);
    assert.ok(drawing.includes('list PLANTED') && drawing.includes('module fixtures_planted'));

    const dot = join(dir, 'planted.dot');
    const d = await memwhy(['refs', String(target.pid), '--type', 'Planted', '--samples', '1', '--graph', dot, '--json'], SLOW);
    assert.equal(d.code, 0, d.stderr);
    assert.match(readFileSync(dot, 'utf8'), /^digraph refs \{[\s\S]*-> .*\[label="PLANTED"\];/);
  } finally {
    await target.kill();
  }
});

test('memwhy refs says so when the type has no instances, and wants --type and a known graph format', async () => {
  const target = await startTarget(interpreters().at(-1)!.path, ['idle_sleeper.py']);
  try {
    const r = await memwhy(['refs', String(target.pid), '--type', 'NoSuchType'], SLOW);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^memwhy: pid \d+ has no live objects of type "NoSuchType"/);
  } finally {
    await target.kill();
  }
  const a = await memwhy(['refs', '1'], SLOW);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--type is required/);
  const b = await memwhy(['refs', '1', '--type', 'X', '--graph', 'out.png'], SLOW);
  assert.equal(b.code, 2);
  assert.equal(b.stderr, 'memwhy: --graph out.png: name an .svg or .dot file\n');
});
