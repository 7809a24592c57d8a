/** src/gdb/launch.ts: the one way memwhy starts gdb, against a real process and a real gdb. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { findGdb, gdbArgs, GdbNotInstalled, GdbTimeout, runGdb } from '../../src/gdb/launch.js';
import { readStatus } from '../../src/target/proc.js';

test('every gdb runs without init files, auto-loaded scripts or network symbols, batch ones attached with -p', () => {
  const args = gdbArgs({ pid: 42, purpose: 'to test', mode: 'batch', readnever: true, settings: ['set print frame-arguments none'], commands: ['bt'] });
  assert.deepEqual(args.slice(0, 4), ['-nx', '-q', '-batch', '-readnever']);
  const settings = args.flatMap((a, i) => (args[i - 1] === '-iex' ? [a] : []));
  assert.deepEqual(settings.slice(0, 2), ['set debuginfod enabled off', 'set auto-load off']);
  assert.equal(settings.at(-1), 'set print frame-arguments none');
  assert.deepEqual(args.slice(-4), ['-p', '42', '-ex', 'bt']);
  const mi = gdbArgs({ pid: 42, purpose: 'to test', mode: 'mi' });
  assert.ok(mi.includes('--interpreter=mi2') && !mi.includes('-p') && !mi.includes('-batch'));
});

test('a missing gdb is one message that says what it was for and how to install it', () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.throws(
      () => findGdb('to dump a core'),
      (err: unknown) => {
        assert.ok(err instanceof GdbNotInstalled);
        assert.equal(err.message, 'gdb is not installed, and memwhy needs it to dump a core: apt-get install gdb');
        return true;
      },
    );
  } finally {
    process.env.PATH = saved;
  }
});

test('a gdb past its time limit is ended with what it started, and the running target is left running and untraced', async () => {
  const target = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    // Attached, then busy in a child of its own, which holds gdb's output pipes: only a kill of the
    // whole group lets the run end (on 'close') well before that child's 30 s.
    const run = runGdb({ pid: target.pid!, purpose: 'to test', mode: 'batch', readnever: true, commands: ['shell sleep 30'] }, { timeoutMs: 1500, graceMs: 1000, doing: 'test' });
    await assert.rejects(run, (err: unknown) => err instanceof GdbTimeout && err.limitMs === 1500 && err.pid === target.pid);
    const status = readStatus(target.pid!);
    assert.doesNotMatch(status.state, /^T/);
    assert.equal(status.tracerPid, 0);
  } finally {
    target.kill('SIGKILL');
  }
});

test('a target found stopped is left stopped', async () => {
  const target = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    process.kill(target.pid!, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 100));
    const run = await runGdb({ pid: target.pid!, purpose: 'to test', mode: 'batch', readnever: true, commands: ['info inferiors'] }, { timeoutMs: 30_000, graceMs: 1000, doing: 'test' });
    assert.equal(run.code, 0, run.stderr);
    assert.match(readStatus(target.pid!).state, /^T/);
    assert.equal(readStatus(target.pid!).tracerPid, 0);
  } finally {
    target.kill('SIGKILL');
  }
});
