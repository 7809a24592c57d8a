/**
 * The agent path (sys._current_frames() in the target), on every
 * interpreter: the same planted fixture must give the memory reader's
 * function names, files and lines, plus the threading names.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withAgent } from '../../src/attach/agentSession.js';
import { AgentStacks } from '../../src/collect/agentStacks.js';
import { collectStacks } from '../../src/collect/liveStacks.js';
import type { ThreadStack } from '../../src/collect/stackTypes.js';
import { layoutFor } from '../../src/cpython/layouts.js';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES, startTarget } from '../helpers/target.js';
import { markerLines } from '../cpython/fixture-lines.js';

const FIXTURE = join(FIXTURES, 'threads_in_known_functions.py');
const LINES = markerLines(FIXTURE);

const ran: string[] = [];
after(() => process.stderr.write(`# stacks through the agent: ran ${ran.join(', ') || 'none'}\n`));

const essence = (threads: ThreadStack[]) => threads.map((t) => ({ tid: t.tid, frames: t.frames.map(({ function: fn, file, line }) => ({ function: fn, file, line })) }));

for (const py of interpreters()) {
  test(`${py.label}: the agent's stacks name the same functions and lines as memory, with threading names`, async () => {
    ran.push(py.label);
    const target = await startTarget(py.path, [FIXTURE]);
    try {
      const viaAgent = await withAgent(target.pid, (session) => AgentStacks.forSession(session, target.pid).read(), { safePointTimeoutS: 30 });
      assert.equal(viaAgent.source, 'agent');
      assert.equal(viaAgent.version, py.version);
      assert.equal(viaAgent.pause_ms, 0);
      assert.equal(viaAgent.threads.length, 3, 'the agent leaves its own thread out');
      assert.deepEqual(viaAgent.threads.map((t) => t.thread_name).sort(), ['MainThread', 'alpha', 'beta']);
      assert.ok(viaAgent.threads.every((t) => t.holds_gil === null));
      const main = viaAgent.threads.find((t) => t.tid === target.pid)!;
      assert.deepEqual(main.frames.slice(0, 2), [
        { function: 'main_wait', file: FIXTURE, line: LINES.get('main-sleep') },
        { function: '<module>', file: FIXTURE, line: LINES.get('module-wait') },
      ]);
      const alpha = viaAgent.threads.find((t) => t.thread_name === 'alpha')!;
      assert.equal(alpha.name, 'alpha', 'the OS name from /proc beside the threading name');
      if (layoutFor(py)) {
        const fromMemory = collectStacks(target.pid, { nonblocking: false });
        assert.deepEqual(essence(viaAgent.threads), essence(fromMemory.threads));
      }
    } finally {
      await target.kill();
    }
  });
}
