/** The heap census (src/agent/census.py), run in every CPython here the way the agent runs it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startAgentModules } from '../helpers/agentModules.js';
import type { Census } from '../../src/collect/census.js';

type Reply = Omit<Census, 't'>;

function countOf(c: Reply, type: string): number {
  return c.types.find((t) => t.type === type)?.count ?? 0;
}

/** Per-type count differences, zeros left out. */
function diff(a: Reply, b: Reply): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of new Set([...a.types, ...b.types].map((t) => t.type))) {
    const d = countOf(b, name) - countOf(a, name);
    if (d !== 0) out[name] = d;
  }
  return out;
}

for (const py of interpreters()) {
  test(`heap census counts exactly the 200,000 planted instances and the 100,000 added strings (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_planted']);
    try {
      await m.call<Reply>('census.census'); // the first call loads the module and warms lazy caches
      const before = await m.call<Reply>('census.census');
      assert.equal(countOf(before, 'fixtures_planted.Planted'), 200_000);
      const planted = before.types.find((t) => t.type === 'fixtures_planted.Planted')!;
      assert.equal(planted.module, 'fixtures_planted');
      assert.equal(planted.bytes % 200_000, 0, 'every Planted has one size');
      assert.equal(await m.call('fixture.fixtures_planted.add_strings'), 100_000);
      const after = await m.call<Reply>('census.census');
      const added = countOf(after, 'str') - countOf(before, 'str');
      process.stderr.write(`# ${py.label}: ${after.total.count} objects, str +${added}, pause ${after.pause_ms} ms, ${after.objects_per_s} objects/s\n`);
      assert.ok(countOf(after, 'str') >= 100_000);
      assert.ok(Math.abs(added - 100_000) <= 5, `str grew by ${added}`);
      assert.equal(countOf(after, 'fixtures_planted.Planted'), 200_000);
      assert.equal(
        after.total.count,
        after.types.reduce((s, t) => s + t.count, 0),
      );
      assert.equal(
        after.total.bytes,
        after.types.reduce((s, t) => s + t.bytes, 0),
      );
    } finally {
      await m.close();
    }
  });

  test(`two censuses of an idle interpreter agree within a few objects (${py.label})`, async () => {
    const m = await startAgentModules(py.path);
    try {
      const first = await m.call<Reply>('census.census');
      const a = await m.call<Reply>('census.census');
      const b = await m.call<Reply>('census.census');
      process.stderr.write(`# ${py.label}: idle census ${a.total.count} objects; first vs second ${JSON.stringify(diff(first, a))}, second vs third ${JSON.stringify(diff(a, b))}\n`);
      const moved = Object.values(diff(a, b)).reduce((s, d) => s + Math.abs(d), 0);
      assert.ok(moved <= 5, `censuses differ by ${moved} objects: ${JSON.stringify(diff(a, b))}`);
      // Even the first, which loads the modules, is close. Each module loaded
      // leaves objects the first census sees and the second does not (3.13:
      // 97 with census.py alone, 111 once it loads safe.py too, 14 a module).
      assert.ok(Math.abs(first.total.count - a.total.count) <= 150, `first census ${first.total.count}, second ${a.total.count}`);
    } finally {
      await m.close();
    }
  });

  test(`heap census restores the switch interval and the collector, and imports only the standard library (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['interpreter_settings']);
    try {
      type Settings = { interval: number; gc_enabled: boolean; modules: string[] };
      const before = await m.call<Settings>('fixture.interpreter_settings.settings');
      await m.call<Reply>('census.census');
      const after = await m.call<Settings>('fixture.interpreter_settings.settings');
      assert.equal(after.interval, before.interval);
      assert.equal(after.gc_enabled, true);
      const added = after.modules.filter((n) => !before.modules.includes(n));
      assert.ok(
        added.every((n) => !n.includes('memwhy')),
        `new modules: ${added}`,
      );
    } finally {
      await m.close();
    }
  });

  test(`heap census lets a thread spinning in pure Python run, never raises its switch interval, and still counts exactly (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_planted', 'spinning_thread']);
    try {
      await m.call<Reply>('census.census'); // loads the module, before the thread spins
      type Progress = { count: number; during: number; interval_during: number | null; interval: number };
      const { interval } = await m.call<{ interval: number }>('fixture.spinning_thread.start');
      const counts: number[] = [];
      for (let i = 0; i < 2; i++) counts.push(countOf(await m.call<Reply>('census.census'), 'fixtures_planted.Planted'));
      const p = await m.call<Progress>('fixture.spinning_thread.stop');
      process.stderr.write(`# ${py.label}: spinner ran ${p.during} of ${p.count} iterations during two censuses, saw interval ${p.interval_during}\n`);
      // Raising the interval held the spinner off for the whole walk (2.7)
      // or handed it the GIL for a whole raised interval (3.x).
      assert.ok(p.during > 0, 'the spinning thread made no progress while the census ran');
      assert.equal(p.interval_during, interval, 'the switch interval the spinning thread saw during the census');
      assert.equal(p.interval, interval);
      assert.deepEqual(counts, [200_000, 200_000]);
    } finally {
      await m.close();
    }
  });

  test(`heap census finds the same objects as a plain one-at-a-time walk (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_planted', 'naive_census']);
    try {
      await m.call('fixture.fixtures_planted.add_strings');
      await m.call<Reply>('census.census');
      const fast = await m.call<Reply>('census.census');
      const naive = await m.call<Record<string, number>>('fixture.naive_census.census');
      const names = new Set([...fast.types.map((t) => t.type), ...Object.keys(naive)]);
      const off: Record<string, number> = {};
      let moved = 0;
      for (const name of names) {
        const d = countOf(fast, name) - (naive[name] ?? 0);
        if (d !== 0) off[name] = d;
        moved += Math.abs(d);
      }
      // Only the two walks' own locals differ (seen: 2-4 objects).
      assert.ok(moved <= 10, `census and the plain walk differ: ${JSON.stringify(off)}`);
      for (const t of ['fixtures_planted.Planted', 'str', 'int', 'list', 'tuple', 'code']) {
        assert.ok(Math.abs(countOf(fast, t) - (naive[t] ?? 0)) <= 2, `${t}: census ${countOf(fast, t)}, plain walk ${naive[t]}`);
      }
    } finally {
      await m.close();
    }
  });
}
