/** The collector probe (src/agent/gcstate.py), run in every CPython here the way the agent runs it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startAgentModules } from '../helpers/agentModules.js';
import type { GcCollection, GcState } from '../../src/collect/gc.js';

const FIN = 'fixtures_uncollectable.Finalized';
const NODE = 'fixtures_uncollectable.Node';

for (const py of interpreters()) {
  const savesAll = py.major > 3 || (py.major === 3 && py.minor >= 4);
  test(`gc state groups uncollectable cycles by type and marks the __del__ object (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_uncollectable']);
    try {
      // Before 3.4 a cycle with __del__ lands in gc.garbage by itself; from 3.4 only under DEBUG_SAVEALL.
      await m.call('fixture.fixtures_uncollectable.make_cycles', { n: 3, save_all: savesAll });
      const s = await m.call<GcState>('gcstate.state');
      const fin = s.garbage.groups.find((g) => g.type === FIN)!;
      assert.ok(fin, JSON.stringify(s.garbage.groups.map((g) => g.type)));
      assert.equal(fin.count, 3);
      assert.equal(fin.has_del, true);
      assert.equal(fin.samples.length, 3);
      assert.match(fin.samples[0]!, /Finalized object at 0x/);
      const cycle = fin.cycle!;
      assert.equal(cycle[0]!.type, FIN);
      assert.equal(cycle.at(-1)!.type, FIN);
      assert.equal(cycle[0]!.addr, cycle.at(-1)!.addr);
      assert.deepEqual(
        cycle.map((h) => h.has_del),
        [true, false, true],
      );
      assert.deepEqual(
        cycle.map((h) => h.label),
        [FIN, `${NODE} .partner`, `${FIN} .next`],
      );
      if (savesAll) {
        assert.ok(s.garbage.groups.some((g) => g.type === NODE && !g.has_del));
        assert.ok(s.stats && s.stats.length >= 3);
      } else {
        // 2.7: only the __del__ objects are in gc.garbage; their cycles stay alive through them.
        assert.deepEqual(
          s.garbage.groups.map((g) => g.type),
          [FIN],
        );
        assert.equal(s.stats, null);
      }
      assert.equal(s.freeze_count === null, py.major === 2 || (py.major === 3 && py.minor < 7));
      assert.equal(
        s.garbage.count,
        s.garbage.groups.reduce((n, g) => n + g.count, 0),
      );
    } finally {
      await m.close();
    }
  });

  test(`gc state reads the collector without collecting (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_uncollectable']);
    try {
      await m.call('fixture.fixtures_uncollectable.collectable', { n: 500 }); // also disables automatic collection
      const a = await m.call<GcState>('gcstate.state');
      const b = await m.call<GcState>('gcstate.state');
      assert.equal(a.enabled, false);
      assert.deepEqual(a.thresholds.length >= 3, true);
      // Nothing collected: the allocation count since the last collection only rises.
      assert.ok(b.counts[0]! >= a.counts[0]!, `${a.counts} -> ${b.counts}`);
      if (a.stats && b.stats)
        assert.deepEqual(
          b.stats.map((s) => s.collections),
          a.stats.map((s) => s.collections),
        );
    } finally {
      await m.close();
    }
  });

  test(`gc collect runs one collection and reports the cycles it freed (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_uncollectable']);
    try {
      await m.call('fixture.fixtures_uncollectable.collectable', { n: 1000 });
      const c = await m.call<GcCollection>('gcstate.collect', { generation: 2 });
      assert.equal(c.generation, 2);
      assert.ok(c.unreachable >= 1000, `unreachable ${c.unreachable}`);
      const plain = c.freed.types.find((t) => t.type === 'fixtures_uncollectable.Plain');
      assert.equal(plain?.count, 1000);
      assert.ok(c.freed.objects >= 1000 && c.freed.bytes > 0);
      assert.equal(c.before.tracked - c.after.tracked, c.freed.objects);
      await assert.rejects(m.call('gcstate.collect', { generation: 3 }), /generation must be 0, 1 or 2/);
    } finally {
      await m.close();
    }
  });
}
