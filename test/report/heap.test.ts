import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabulateCensus } from '../../src/analyze/census.js';
import { renderHeap } from '../../src/report/heap.js';
import { renderGrowth } from '../../src/report/growth.js';
import { growthOf } from '../../src/analyze/growth.js';

test('heap report leads with the totals and the biggest type, then the table', () => {
  const table = tabulateCensus(
    {
      total: { count: 3_000_000, bytes: 100 * 1024 * 1024 },
      types: [{ type: 'app.Session', module: 'app', count: 200_000, bytes: 60 * 1024 * 1024 }],
    },
    { by: 'type', top: 5 },
  );
  const out = renderHeap({ pid: 42, table, pause_ms: 234, wall_ms: 1234, objects_per_s: 2_500_000 });
  const lines = out.split('\n');
  assert.equal(lines[0], 'pid 42: 3.0 M live objects, 100.0 MiB (shallow); most bytes in app.Session (60.0 MiB, 60.0%)');
  assert.equal(lines[1], "census took 1.23 s, holding off the target's other threads 234 ms at most at a time (2.5 M objects/s)");
  assert.match(lines[3]!, /^#\s+count\s+%\s+bytes\s+%\s+cum %\s+type$/);
  assert.match(lines[4]!, /^0\s+200000\s+6\.7%\s+60\.0 MiB\s+60\.0%\s+60\.0%\s+app\.Session$/);
  assert.equal(lines[5], '... the rest: 2800000 objects, 40.0 MiB');
});

test('growth report names the steady grower first', () => {
  const c = (t: number, n: number) => ({
    t: t * 1000,
    total: { count: n, bytes: n * 56 },
    types: [{ type: '__main__.LeakedRecord', module: '__main__', count: n, bytes: n * 56 }],
    pause_ms: 12,
    objects_per_s: null,
  });
  const out = renderGrowth(7, growthOf([c(0, 100), c(1, 200), c(2, 300)]), 10);
  assert.match(out.split('\n')[0]!, /^pid 7: __main__\.LeakedRecord grows steadily: \+200 objects, \+10\.9 KiB over 2\.0 s \(3 censuses\), \+100 objects\/s$/);
  assert.match(out, /\+200\s+\+10\.9 KiB\s+\+100\s+\+5\.5 KiB\/s\s+yes\s+__main__\.LeakedRecord/);
});
