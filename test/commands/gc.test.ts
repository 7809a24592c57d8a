/** `memwhy gc` end to end: uncollectable cycles and a collection, on every CPython here. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';

// bin/memwhy rebuilds dist/ when a source is newer: allow for a build on a busy machine.
const SLOW = { timeoutMs: 180_000 };
import type { GcCollection, GcState } from '../../src/collect/gc.js';

for (const py of interpreters()) {
  test(`memwhy gc groups gc.garbage by type and shows the cycle with the __del__ object marked (${py.label})`, async () => {
    const target = await startTarget(py.path, ['hold_uncollectable_cycles.py']);
    try {
      const r = await memwhy(['gc', String(target.pid), '--json'], SLOW);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as GcState & { collection?: GcCollection };
      assert.equal(s.collection, undefined, 'no collection unless asked');
      assert.equal(s.enabled, false);
      const fin = s.garbage.groups.find((g) => g.type === 'fixtures_uncollectable.Finalized')!;
      assert.equal(fin.count, 3);
      assert.equal(fin.has_del, true);
      assert.deepEqual(
        fin.cycle!.map((h) => h.has_del),
        [true, false, true],
      );
      if (py.major === 2) assert.equal(s.garbage.groups.length, 1, '2.7: only the __del__ objects');
    } finally {
      await target.kill();
    }
  });
}

test('memwhy gc --collect frees the plain cycles and says so; the text marks __del__', async () => {
  for (const py of [interpreters()[0]!, interpreters().at(-1)!]) {
    const target = await startTarget(py.path, ['hold_uncollectable_cycles.py']);
    try {
      const r = await memwhy(['gc', String(target.pid), '--collect'], SLOW);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^pid ${target.pid} \\(CPython ${py.version.replace(/\./g, '\\.')}\\): \\d+ uncollectable objects in gc\\.garbage`));
      assert.match(r.stdout, /fixtures_uncollectable\.Finalized: 3 objects, \d+ B, defines __del__/);
      assert.match(r.stdout, /cycle \(\* defines __del__\): fixtures_uncollectable\.Finalized\* -> fixtures_uncollectable\.Node \.partner -> fixtures_uncollectable\.Finalized \.next\*/);
      assert.match(r.stdout, /gc\.collect\(2\) took .*: found \d+ unreachable objects; freed \d+ tracked objects/);
      assert.match(r.stdout, /^\s*1000\s+fixtures_uncollectable\.Plain$/m);
    } finally {
      await target.kill();
    }
  }
});
