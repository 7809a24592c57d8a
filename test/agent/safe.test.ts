/**
 * The agent never runs the target's code: a metaclass's __getattribute__,
 * a str subclass's __repr__ and a __getattr__ that raises (test/fixtures/
 * fixtures_hostile.py) stay unrun through every agent call that looks at
 * objects: census, refs, gc state, heap dump, tracing. On every CPython here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startAgentModules } from '../helpers/agentModules.js';
import { tempDir } from '../helpers/tempDir.js';

for (const py of interpreters()) {
  test(`no agent call runs a hostile object's own code (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_hostile']);
    const dir = tempDir('memwhy-safe-');
    try {
      assert.ok((await m.call<number>('fixture.fixtures_hostile.make_garbage')) > 0, 'hostile objects in gc.garbage');
      const calls: [string, Record<string, unknown>][] = [
        ['census.census', {}],
        ['refs.refs', { type: 'fixtures_hostile.Hostile' }],
        ['refs.refs', { type: 'fixtures_hostile.Raising' }],
        ['refs.refs', { type: 'fixtures_hostile.LoudStr' }],
        ['gcstate.state', {}],
        ['heapdump.dump', { path: join(dir, 'heap.memwhy-heap') }],
      ];
      if (py.major === 3 && py.minor >= 4) {
        calls.push(['tracing.start', {}], ['tracing.take', { types: ['fixtures_hostile.Hostile', 'fixtures_hostile.Raising'] }], ['tracing.stop', {}]);
      }
      const ran: string[] = [];
      for (const [method, params] of calls) {
        await m.call('fixture.fixtures_hostile.reset');
        await m.call(method, params);
        const got = await m.call<string[]>('fixture.fixtures_hostile.ran');
        ran.push(...got.map((r) => `${method}(${JSON.stringify(params)}): ${r}`));
      }
      assert.deepEqual(ran, []);
      // The calls did look at them: refs found the hostile class's instances.
      const found = await m.call<{ matched: string[]; instances: number }>('refs.refs', { type: 'fixtures_hostile.Hostile' });
      assert.deepEqual(found.matched, ['fixtures_hostile.Hostile']);
      assert.ok(found.instances >= 2, `${found.instances} instances`);
    } finally {
      await m.close();
    }
  });
}
