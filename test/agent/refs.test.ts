/** The referrer walk (src/agent/refs.py), run in every CPython here the way the agent runs it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startAgentModules } from '../helpers/agentModules.js';
import type { RefsResult } from '../../src/collect/refs.js';

const text = (r: RefsResult): string[] => r.chains.map((c) => c.hops.map((h) => h.label).join(' -> ')).sort();

for (const py of interpreters()) {
  test(`refs names the module global that holds the planted objects (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_planted']);
    try {
      const r = await m.call<RefsResult>('refs.refs', { type: 'Planted', samples: 3 });
      assert.deepEqual(r.matched, ['fixtures_planted.Planted']);
      assert.equal(r.instances, 200_000);
      assert.equal(r.chains.length, 3);
      for (const c of r.chains) {
        assert.equal(c.complete, true);
        assert.equal(c.root, 'module');
        assert.deepEqual(
          c.hops.map((h) => h.kind),
          ['module', 'object', 'target'],
        );
        assert.equal(c.hops[0]!.label, 'module fixtures_planted');
        assert.equal(c.hops[0]!.edge, 'PLANTED');
        assert.match(c.hops[1]!.label, /^list PLANTED\[\d+\]$/);
        assert.equal(c.hops[2]!.type, 'fixtures_planted.Planted');
        assert.equal(c.hops[2]!.addr, c.sample);
      }
      // The graph: one module, one list, three samples; edges labelled.
      assert.equal(r.graph.nodes.length, 5);
      assert.ok(r.graph.edges.some((e) => e.label === 'PLANTED'));
      assert.ok(!r.graph.nodes.some((n) => n.kind === 'referrer'), 'no stray referrers (our own lists or frames)');
    } finally {
      await m.close();
    }
  });

  test(`refs names attributes, dict keys, class attributes and another thread's locals (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_held']);
    try {
      const r = await m.call<RefsResult>('refs.refs', { type: 'fixtures_held.Session', samples: 5 });
      assert.equal(r.instances, 3);
      const [byClass, byFrame, byModule] = text(r);
      assert.equal(byClass, 'class fixtures_held.Registry -> list .items[0] -> fixtures_held.Session');
      assert.match(byFrame!, /^frame worker \(\S*fixtures_held\.pyc?:\d+\) -> fixtures_held\.Session local held_here$/);
      assert.equal(byModule, "module fixtures_held -> fixtures_held.Cache CACHE -> dict .entries['9f1c-abc'] -> fixtures_held.Session");
      assert.deepEqual(r.chains.map((c) => c.root).sort(), ['class', 'frame', 'module']);
    } finally {
      await m.close();
    }
  });

  test(`refs measures what each sample keeps alive: its own list and strings, not what it shares (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_kept']);
    try {
      const r = await m.call<RefsResult>('refs.refs', { type: 'fixtures_kept.Record', samples: 3 });
      assert.equal(r.chains.length, 3);
      for (const c of r.chains) {
        // The record, its list, 50 strings of 100 characters (+ a __dict__ on versions that keep one apart).
        assert.ok(c.kept_objects === 52 || c.kept_objects === 53, `kept_objects ${c.kept_objects}`);
        const strings = 50 * (100 + (py.major === 2 ? 37 : 49));
        assert.ok(c.kept_bytes! >= strings && c.kept_bytes! < strings + 2048, `kept_bytes ${c.kept_bytes} for ${strings} of strings`);
      }
    } finally {
      await m.close();
    }
  });

  test(`refs finds nothing for a type with no instances (${py.label})`, async () => {
    const m = await startAgentModules(py.path);
    try {
      const r = await m.call<RefsResult>('refs.refs', { type: 'NoSuchTypeAnywhere' });
      assert.equal(r.instances, 0);
      assert.deepEqual(r.chains, []);
    } finally {
      await m.close();
    }
  });
}
