/** The leak zoo, part 2: the collector's causes and threads, on every CPython here. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { diagnoseTarget } from '../helpers/diagnose.js';

describe('diagnose: uncollectable, cyclic-garbage and thread-leak', () => {
  for (const py of interpreters()) {
    // 2.7: cycles through __del__; 3.4+ frees those, so the fixture keeps its garbage with DEBUG_SAVEALL.
    test(`uncollectable: gc.garbage grows (${py.label})`, async () => {
      const d = await diagnoseTarget(py, 'leak_uncollectable_del_cycles.py');
      assert.equal(d.verdict.cause, 'uncollectable', d.verdict.summary);
      assert.ok(d.gc!.garbage_end > d.gc!.garbage_start);
    });

    test(`cyclic-garbage: cycles made with the collector disabled (${py.label})`, async () => {
      const d = await diagnoseTarget(py, 'leak_cycles_gc_disabled.py');
      assert.equal(d.verdict.cause, 'cyclic-garbage', d.verdict.summary);
      assert.equal(d.gc?.enabled, false);
    });

    test(`thread-leak: a thread started every 0.2 s (${py.label})`, async () => {
      const d = await diagnoseTarget(py, 'leak_threads.py');
      assert.equal(d.verdict.cause, 'thread-leak', d.verdict.summary);
      assert.ok(d.threads.end - d.threads.start >= 10, `threads ${d.threads.start} -> ${d.threads.end}`);
    });
  }
});
