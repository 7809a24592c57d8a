import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startAgentModules } from '../helpers/agentModules.js';

// The code fork.py writes to clear the GIL drop request and the eval breaker
// in a forked child (the end-to-end case is test/attach/forkReset.test.ts):
// zeroes each int and the low byte of the word in the child, nothing in the
// parent, and returns fork's result to both.
for (const py of interpreters()) {
  test(`the resetting fork clears the flags in the child only (${py.label})`, async () => {
    const m = await startAgentModules(py.path, ['fixtures_forker']);
    try {
      const r = await m.call<{ made: boolean; child: number[]; parent: number[]; status: number }>('fixture.fixtures_forker.clears_in_child_only');
      assert.equal(r.made, true, 'the page of code could not be made');
      assert.deepEqual(r.child, [0, 0, 0x1234500]);
      assert.deepEqual(r.parent, [1, 1, 0x1234515]);
      assert.equal(r.status, 0);
    } finally {
      await m.close();
    }
  });
}
