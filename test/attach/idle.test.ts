/**
 * A program whose threads never run (main thread in one long sleep or wait)
 * is still reached: memwhy wakes the main thread's system call with EINTR,
 * which CPython 3.5+ retries; the program's own wait is not cut short.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import { tracerPid } from '../helpers/procfs.js';

for (const py of interpreters()) {
  describe(`an idle program on ${py.label}`, () => {
    for (const mode of ['sleep', 'event']) {
      test(`is reached while its main thread is in a one-hour ${mode}`, async () => {
        const target = await startTarget(py.path, ['idle_deep_sleep.py', mode], { privateTmp: true });
        try {
          const r = await memwhy(['exec', String(target.pid), '--timeout', '4s', '-c', 'print(6*7)']);
          if (py.major === 2 && mode === 'sleep') {
            // 2.7 does not retry on EINTR (a sleep would return early), so memwhy does not
            // wake it. (Its Event.wait polls in short sleeps, so that one is reached anyway.)
            assert.notEqual(r.code, 0);
            assert.match(r.stderr, /did not reach a safe point in 4 s.*left running unharmed/);
          } else {
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, '42\n');
          }
          await new Promise((res) => setTimeout(res, 300));
          assert.ok(target.alive());
          assert.equal(tracerPid(target.pid), 0);
          assert.doesNotMatch(target.stdout(), /woke/, "the program's own wait was not cut short");
        } finally {
          await target.kill();
        }
      });
    }
  });
}

for (const py of interpreters()) {
  test(`a tight pure-Python loop on ${py.label} is reached, and keeps running`, async () => {
    const target = await startTarget(py.path, ['busy_pure_loop.py']);
    try {
      const r = await memwhy(['exec', String(target.pid), '--timeout', '8s', '-c', 'print(6*7)']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '42\n');
      const before = target.stdout().length;
      await new Promise((res) => setTimeout(res, 2500));
      assert.ok(target.stdout().length > before, 'the loop still reports its rate');
      assert.equal(tracerPid(target.pid), 0);
    } finally {
      await target.kill();
    }
  });
}
