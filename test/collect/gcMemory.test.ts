import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { GcMemoryProbe } from '../../src/collect/gcMemory.js';
import { describePython } from '../../src/target/python.js';

interface Printed {
  count: number[];
  threshold: number[];
  stats: { collections: number; collected: number; uncollectable: number }[] | null;
  enabled: boolean;
  garbage: number;
}

for (const py of interpreters()) {
  test(`the collector's counters read from ${py.label}'s memory equal what its gc module printed`, async () => {
    const target = await startTarget(py.path, ['gc_settings_then_sleep.py']);
    try {
      const printed = JSON.parse(/^ready (.*)$/m.exec(target.stdout())![1]!) as Printed;
      const probe = GcMemoryProbe.open(describePython(target.pid));
      if (py.major === 2 || (py.major === 3 && py.minor < 7)) {
        assert.equal(probe, undefined, `${py.version} keeps its collector in statics: no probe`);
        return;
      }
      assert.ok(probe, `a probe for ${py.version}`);
      try {
        const state = probe.read();
        assert.equal(state.enabled, printed.enabled);
        assert.equal(state.enabled, false);
        assert.equal(state.garbage, 3);
        assert.equal(state.collecting, false);
        assert.deepEqual(
          state.generations.map((g) => g.threshold),
          [123, 7, 5],
        );
        // Generation 0's count moves with every allocation after the print (the print itself allocates); the older ones do not.
        assert.deepEqual(
          state.generations.slice(1).map((g) => g.count),
          printed.count.slice(1),
        );
        assert.ok(Math.abs(state.generations[0]!.count - printed.count[0]!) < 200, `count ${state.generations[0]!.count} vs ${printed.count[0]}`);
        assert.deepEqual(
          state.generations.map((g) => ({ collections: g.collections, collected: g.collected, uncollectable: g.uncollectable })),
          printed.stats,
        );
        assert.ok(state.generations[2]!.collections >= 2, 'the two full collections are counted');
      } finally {
        probe.close();
      }
    } finally {
      await target.kill();
    }
  });
}
