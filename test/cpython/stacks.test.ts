/**
 * Stacks read from memory, for every interpreter on the machine that has a
 * layout: threads planted in known functions must come back with the
 * fixture's function names, file and exact lines.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { interpreters, type Interpreter } from '../helpers/pythons.js';
import { FIXTURES, startTarget } from '../helpers/target.js';
import { layoutFor } from '../../src/cpython/layouts.js';
import { collectStacks } from '../../src/collect/liveStacks.js';
import type { StackFrame, ThreadStack } from '../../src/collect/stackTypes.js';
import { markerLines } from './fixture-lines.js';

const FIXTURE = join(FIXTURES, 'threads_in_known_functions.py');

const LINES = markerLines(FIXTURE);
const line = (marker: string): number => LINES.get(marker) ?? assert.fail(`no marker ${marker}`);
const here = (fn: string, marker: string): StackFrame => ({ function: fn, file: FIXTURE, line: line(marker) });

function byName(threads: ThreadStack[], name: string): ThreadStack {
  return threads.find((t) => t.name === name) ?? assert.fail(`no thread named ${name}: ${JSON.stringify(threads)}`);
}

const ran: string[] = [];
const skipped: string[] = [];
after(() => {
  process.stderr.write(`# stacks from memory: ran ${ran.join(', ') || 'none'}; skipped ${skipped.join(', ') || 'none'} (no layout)\n`);
});

function supported(py: Interpreter): boolean {
  const ok = layoutFor(py) !== undefined;
  (ok ? ran : skipped).push(py.label);
  return ok;
}

for (const py of interpreters()) {
  const ok = supported(py);
  const skip = ok ? false : `no layout for CPython ${py.version}`;

  test(`stacks of ${py.label} name the planted functions, their file and exact lines`, { skip }, async () => {
    const target = await startTarget(py.path, [FIXTURE]);
    try {
      const stacks = collectStacks(target.pid, { nonblocking: false });
      assert.equal(stacks.version, py.version);
      assert.equal(stacks.source, 'memory');
      assert.ok(stacks.pause_ms > 0, 'the target was paused');
      assert.equal(stacks.threads.length, 3);

      const main = stacks.threads.find((t) => t.tid === target.pid) ?? assert.fail('no main thread');
      assert.deepEqual(main.frames, [here('main_wait', 'main-sleep'), here('<module>', 'module-wait')]);

      const alpha = byName(stacks.threads, 'alpha');
      assert.deepEqual(alpha.frames[0], here('worker_alpha', 'alpha-sleep'));
      assert.match(alpha.frames.at(-1)!.file, /threading\.py$/);
      assert.match(alpha.frames.at(-1)!.function, /(^|\.)_*bootstrap$/);

      const beta = byName(stacks.threads, 'beta');
      assert.deepEqual(beta.frames.slice(0, 2), [here('nested_beta', 'beta-sleep'), here('worker_beta', 'beta-call')]);

      for (const t of stacks.threads) {
        assert.equal(t.error, undefined);
        assert.notEqual(t.tid, null);
        assert.ok(['idle', 'running'].includes(t.state));
      }
      assert.equal(target.alive(), true);
    } finally {
      await target.kill();
    }
  });

  test(`${py.label}: a main thread spinning in "while True: pass" is running, holds the GIL, and is readable`, { skip }, async () => {
    const target = await startTarget(py.path, [FIXTURE, '--spin']);
    try {
      // "ready" is written with the GIL released; let the spinner take it back first.
      await new Promise((r) => setTimeout(r, 200));
      // 2.7's eval loop drops and retakes the GIL every 100 ticks even when no
      // other thread waits, so a stop can land (about 2% of reads here) in
      // that gap, when no thread holds it: there, try a few reads.
      const attempts = py.major === 2 ? 5 : 1;
      let main: ThreadStack | undefined;
      for (let i = 0; i < attempts && !main?.holds_gil; i++) {
        const stacks = collectStacks(target.pid, { nonblocking: false });
        main = stacks.threads.find((t) => t.tid === target.pid) ?? assert.fail('no main thread');
        assert.deepEqual(main.frames, [here('main_spin', 'main-spin'), here('<module>', 'module-spin')]);
        assert.equal(main.state, 'running');
        assert.deepEqual(
          stacks.threads.filter((t) => t.holds_gil && t.tid !== target.pid).map((t) => t.tid),
          [],
          'no other thread holds the GIL',
        );
      }
      assert.equal(main!.holds_gil, true);
    } finally {
      await target.kill();
    }
  });

  test(`${py.label}: locals of a frame come back with Python's repr for simple values and lengths for containers`, { skip }, async () => {
    const target = await startTarget(py.path, [FIXTURE]);
    try {
      const stacks = collectStacks(target.pid, { nonblocking: false, locals: true });
      const frame = byName(stacks.threads, 'alpha').frames[0]!;
      const values = Object.fromEntries((frame.locals ?? []).map((l) => [l.name, l.value]));
      const types = Object.fromEntries((frame.locals ?? []).map((l) => [l.name, l.type]));
      const py2 = py.major === 2;
      assert.deepEqual(
        { ...values, started: undefined, accented: undefined },
        {
          started: undefined,
          count: '42',
          zero: '0',
          negative: '-7',
          big: py2 ? '1180591620717411303424L' : '1180591620717411303424',
          ratio: '0.5',
          tiny: '1.5e-07',
          label: "'alpha-label'",
          quoted: `"it's"`,
          accented: undefined,
          data: py2 ? "'xyz\\n'" : "b'xyz\\n'",
          nothing: 'None',
          flag: 'True',
          items: '<list len=3>',
          pair: '<tuple len=2>',
          mapping: '<dict len=2>',
          members: '<set len=4>',
        },
      );
      if (py2) assert.match(values.accented!, /^<unicode object at 0x[0-9a-f]+>$/);
      else assert.equal(values.accented, "'h\u00e9llo \u4e16\u754c \u{1f600}'");
      assert.match(values.started!, /^<_?Event object at 0x[0-9a-f]+>$/);
      assert.equal(types.big, py2 ? 'long' : 'int');
      assert.equal(types.ratio, 'float');
      assert.equal(types.flag, 'bool');
      assert.equal(types.nothing, 'NoneType');
      assert.equal(stacks.threads.find((t) => t.tid === target.pid)!.frames[0]!.locals!.length, 0, 'main_wait has no locals');
    } finally {
      await target.kill();
    }
  });

  test(`${py.label}: --nonblocking reads the same sleeping threads without a pause`, { skip }, async () => {
    const target = await startTarget(py.path, [FIXTURE]);
    try {
      const stacks = collectStacks(target.pid, { nonblocking: true });
      assert.equal(stacks.pause_ms, 0);
      assert.deepEqual(byName(stacks.threads, 'alpha').frames[0], here('worker_alpha', 'alpha-sleep'));
    } finally {
      await target.kill();
    }
  });
}
