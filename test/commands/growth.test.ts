/** `memwhy growth` end to end: a planted steady leak, on every CPython here. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';

// bin/memwhy rebuilds dist/ when a source is newer: allow for a build on a busy machine.
const SLOW = { timeoutMs: 180_000 };
import type { GrowthFinding } from '../../src/analyze/growth.js';

const RATE = 2000;

for (const py of interpreters()) {
  test(`memwhy growth puts the leaking type on top with a positive rate (${py.label})`, async () => {
    const target = await startTarget(py.path, ['leak_objects_steadily.py', String(RATE)]);
    try {
      const r = await memwhy(['growth', String(target.pid), '--every', '1s', '--times', '3', '--json'], SLOW);
      assert.equal(r.code, 0, r.stderr);
      const g = JSON.parse(r.stdout) as GrowthFinding & { pid: number };
      const lead = g.types[0]!;
      process.stderr.write(`# ${py.label}: growth lead ${lead.type} ${lead.count_per_s.toFixed(0)} objects/s over ${g.elapsed_s.toFixed(1)} s, pause <= ${g.max_pause_ms} ms\n`);
      assert.equal(g.verdict, 'issue');
      assert.equal(g.censuses, 3);
      assert.equal(lead.type, '__main__.LeakedRecord');
      assert.equal(lead.steady, true);
      assert.ok(lead.count_per_s > RATE / 4 && lead.count_per_s < RATE * 2, `rate ${lead.count_per_s}`);
      assert.ok(lead.bytes_per_s > 0);
    } finally {
      await target.kill();
    }
  });
}

test('memwhy growth leads its report with the steady grower and prints progress on stderr', async () => {
  const target = await startTarget(interpreters().at(-1)!.path, ['leak_objects_steadily.py', String(RATE)]);
  try {
    const r = await memwhy(['growth', String(target.pid), '--every', '500ms', '--times', '3', '--top', '3'], SLOW);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^pid ${target.pid}: __main__\\.LeakedRecord grows steadily: \\+\\d+ objects`));
    assert.match(r.stdout, /count\s+Δ count\s+Δ bytes\s+objects\/s\s+bytes\/s\s+steady\s+type/);
    assert.match(r.stderr, /census 1\/3: .* objects, .*, paused/);
    assert.match(r.stderr, /census 3\/3/);
  } finally {
    await target.kill();
  }
});
