/** The leak zoo, part 1: allocator retention and native leaks, on every CPython here. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { diagnoseTarget } from '../helpers/diagnose.js';

describe('diagnose: allocator-retention and native', () => {
  for (const py of interpreters()) {
    test(`allocator-retention: a fragmented heap after a burst, proven by trim (${py.label})`, async () => {
      const d = await diagnoseTarget(py, 'fragmented_then_idle.py');
      assert.equal(d.verdict.cause, 'allocator-retention', d.verdict.summary);
      assert.ok(d.trim, 'trim ran');
      assert.ok(d.trim.released > d.rss.start / 2, `trim gave back most of RSS (${d.trim.released} of ${d.rss.start})`);
      assert.equal(d.verdict.confidence, 'high');
      assert.ok(d.recommendations.some((r) => r.includes('memwhy run --allocator')));
    });

    test(`native: a C-level leak through ctypes malloc (${py.label})`, async () => {
      const d = await diagnoseTarget(py, 'leak_through_ctypes_malloc.py');
      assert.equal(d.verdict.cause, 'native', d.verdict.summary);
    });
  }
});
