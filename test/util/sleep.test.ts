import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../../src/util/sleep.js';

test('sleep resolves true when it waited, false at once when the signal had aborted, false when it aborts meanwhile', async () => {
  assert.equal(await sleep(5), true);
  assert.equal(await sleep(0), true);
  const gone = new AbortController();
  gone.abort();
  assert.equal(await sleep(60_000, gone.signal), false);
  const later = new AbortController();
  const waiting = sleep(60_000, later.signal);
  later.abort();
  assert.equal(await waiting, false);
});
