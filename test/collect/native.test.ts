/**
 * Native stacks: gdb's backtraces parsed from recorded output, merged with
 * Python frames by eval loop call, and (live, every interpreter) merged
 * stacks of real targets whose Python frames sit under the C frames of the
 * call they wait in.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isEvalFrame, mergeStacks, parseBacktraces, syscallName } from '../../src/collect/native.js';
import { LiveStacks, collectStacks } from '../../src/collect/liveStacks.js';
import type { StackFrame } from '../../src/collect/stackTypes.js';
import { layoutFor } from '../../src/cpython/layouts.js';
import { GdbTimeout } from '../../src/gdb/launch.js';
import { readStatus, type Mapping } from '../../src/target/proc.js';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES, startTarget } from '../helpers/target.js';
import { markerLines } from '../cpython/fixture-lines.js';

const RECORDED = join(dirname(fileURLToPath(import.meta.url)), 'recorded');
const recorded = (name: string): string => readFileSync(join(RECORDED, name), 'utf8');

test('gdb backtraces parse into threads by tid, innermost frame first', () => {
  const threads = parseBacktraces(recorded('gdb-bt-deadlock-3.11.txt'));
  assert.deepEqual(
    threads.map((t) => [t.tid, t.name]),
    [
      [6576, 'consumer'],
      [6575, 'right'],
      [6574, 'left'],
      [6570, 'python3'],
    ],
  );
  const left = threads[2]!;
  assert.equal(left.frames.length, 15);
  assert.deepEqual(left.frames[0], { function: '??', address: 0x7f7fdcfa0f16n });
  assert.deepEqual(left.frames[2], { function: 'PyThread_acquire_lock_timed', address: 0x4ce7c3n });
  assert.equal(left.frames.filter((f) => isEvalFrame(f.function, 3)).length, 2);
});

test('inlined frames take the pc of the frame before them and keep their source line', () => {
  const left = parseBacktraces(recorded('gdb-bt-deadlock-3.12.txt')).find((t) => t.name === 'left')!;
  assert.deepEqual(left.frames[8], {
    function: '_PyObject_CallNoArgs',
    address: 0x7fa9fcd15962n,
    inlined: true,
    source: './Include/internal/pycore_call.h:108',
  });
  assert.equal(left.frames[9]!.function, '_PyEval_EvalFrameDefault');
  assert.equal(left.frames[9]!.inlined, true);
});

test('symbol versions are dropped from gdb names', () => {
  const [t] = parseBacktraces('Thread 1 (Thread 0x7f (LWP 42) "x"):\n#0  0x0000000000001000 in pthread_cond_timedwait@@GLIBC_2.3.2 () from /lib/libc.so.6\n');
  assert.equal(t!.frames[0]!.function, 'pthread_cond_timedwait');
  assert.equal(t!.tid, 42);
});

const MAPS: Mapping[] = [
  { start: 0x400000n, end: 0x700000n, perms: 'r-xp', offset: 0n, inode: 1, path: '/usr/bin/python3.11' },
  { start: 0x7f7fdcf00000n, end: 0x7f7fdd100000n, perms: 'r-xp', offset: 0x26000n, inode: 2, path: '/lib/x86_64-linux-gnu/libc.so.6' },
];

const py = (fn: string, evalCall: number): StackFrame & { evalCall: number } => ({ function: fn, file: 'app.py', line: 1, evalCall });

test('3.11: each _PyEval_EvalFrameDefault stands for the frames of its eval call, several where calls were inlined', () => {
  const left = parseBacktraces(recorded('gdb-bt-deadlock-3.11.txt')).find((t) => t.name === 'left')!;
  const merged = mergeStacks({ frames: [py('left', 0), py('Thread.run', 1), py('Thread._bootstrap_inner', 1), py('Thread._bootstrap', 1)], evalCalls: 2 }, left.frames, 3, MAPS, 'futex');
  assert.equal(merged.note, undefined);
  const names = merged.frames.map((f) => (f.kind ? `[${f.kind}] ${f.function}` : f.function));
  assert.deepEqual(names, [
    '[syscall] futex',
    '[native] ??',
    '[native] ??',
    '[native] PyThread_acquire_lock_timed',
    '[native] ??',
    '[native] ??',
    '[native] _PyObject_MakeTpCall',
    'left',
    '[native] _PyFunction_Vectorcall',
    'Thread.run',
    'Thread._bootstrap_inner',
    'Thread._bootstrap',
    '[native] ??',
    '[native] ??',
    '[native] ??',
    '[native] ??',
    '[native] ??',
    '[native] ??',
  ]);
  // Unnamed frames carry the object and the offset in it, for addr2line.
  assert.deepEqual(merged.frames[1], {
    function: '??',
    file: '/lib/x86_64-linux-gnu/libc.so.6',
    line: null,
    kind: 'native',
    address: '0x7f7fdcfa0f16',
    offset: `0x${(0x7f7fdcfa0f16n - 0x7f7fdcf00000n + 0x26000n).toString(16)}`,
  });
  assert.equal(merged.frames[3]!.file, '/usr/bin/python3.11');
});

test('2.7: PyEval_EvalFrameEx is the eval frame, one per Python frame', () => {
  const native = [
    { function: 'sem_wait', address: 1n },
    { function: 'PyEval_EvalFrameEx', address: 2n },
    { function: 'PyEval_EvalCodeEx', address: 3n },
    { function: 'PyEval_EvalFrameEx', address: 4n },
    { function: '_PyEval_EvalFrameDefault', address: 5n },
  ];
  const merged = mergeStacks({ frames: [py('inner', 0), py('outer', 1)], evalCalls: 2 }, native, 2, [], null);
  assert.deepEqual(
    merged.frames.map((f) => f.function),
    ['sem_wait', 'inner', 'PyEval_EvalCodeEx', 'outer', '_PyEval_EvalFrameDefault'],
  );
  assert.equal(merged.note, undefined);
});

test('when gdb shows fewer eval calls than memory, the Python frames left over come last, with a note', () => {
  const merged = mergeStacks(
    { frames: [py('a', 0), py('b', 1), py('c', 2)], evalCalls: 3 },
    [
      { function: 'clock_nanosleep', address: 1n },
      { function: '_PyEval_EvalFrameDefault', address: 2n },
      { function: '??', address: 3n },
    ],
    3,
    [],
    null,
  );
  assert.deepEqual(
    merged.frames.map((f) => f.function),
    ['clock_nanosleep', 'a', '??', 'b', 'c'],
  );
  assert.match(merged.note!, /gdb shows 1 eval loop call where memory shows 3: the Python frames left over are listed last/);
});

test('an eval call with no Python frame of its own (3.12+ shim just pushed) takes nothing', () => {
  const merged = mergeStacks(
    { frames: [py('b', 1)], evalCalls: 2 },
    [
      { function: '_PyEval_EvalFrameDefault', address: 1n },
      { function: 'call', address: 2n },
      { function: '_PyEval_EvalFrameDefault', address: 3n },
    ],
    3,
    [],
    null,
  );
  assert.deepEqual(
    merged.frames.map((f) => f.function),
    ['call', 'b'],
  );
});

test('system call numbers are named from the x86_64 table', { skip: process.arch === 'x64' ? false : 'x86_64 table' }, () => {
  assert.equal(syscallName('202 0x7f0f18000b70 0x189 0x0 0x0 0x0 0xffffffff 0x7ffc37f91640 0x7f0f20774f16\n'), 'futex');
  assert.equal(syscallName('230 0x1 0x1 0x7ffff06d0aa0 0x0 0x0 0x0 0x7ffff06d0a60 0x7f6414748545\n'), 'clock_nanosleep');
  assert.equal(syscallName('999 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n'), 'syscall 999');
  assert.equal(syscallName('running\n'), null);
  assert.equal(syscallName('-1 0x7ffc37f91640 0x7f0f20774f16\n'), null);
});

// Live: every interpreter memory reads, Debian's python3 (no debug info: ELF names) and pyenv's (DWARF inside).

const DEADLOCK = join(FIXTURES, 'deadlock_two_locks.py');
const SLEEPERS = join(FIXTURES, 'threads_in_known_functions.py');
const DEADLOCK_LINES = markerLines(DEADLOCK);
const SLEEPER_LINES = markerLines(SLEEPERS);
const ran: string[] = [];
after(() => process.stderr.write(`# native stacks: ran ${ran.join(', ') || 'none'}\n`));

const pythonOnly = (frames: StackFrame[]): StackFrame[] => frames.filter((f) => f.kind === undefined);

for (const p of interpreters()) {
  const skip = layoutFor(p) ? false : `no layout for CPython ${p.version}`;

  test(`${p.label}: --native puts a futex wait and the lock's C frames above the Python frame that takes the lock`, { skip }, async () => {
    ran.push(p.label);
    const target = await startTarget(p.path, [DEADLOCK]);
    const live = LiveStacks.open(target.pid);
    try {
      const e = await live.readNative({ timeoutMs: 60_000 });
      assert.equal(e.native, true);
      assert.ok(e.pause_ms > 0);
      assert.doesNotMatch(readStatus(target.pid).state, /^T/, 'the target runs again');
      const left = e.threads.find((t) => t.name === 'left')!;
      assert.equal(left.note, undefined, JSON.stringify(left));
      const firstPython = left.frames.findIndex((f) => f.kind === undefined);
      assert.deepEqual(left.frames[firstPython], { function: 'left', file: DEADLOCK, line: DEADLOCK_LINES.get('left-wants-b') });
      assert.deepEqual(left.frames[0], { function: 'futex', file: '[kernel]', line: null, kind: 'syscall' });
      const above = left.frames.slice(1, firstPython);
      assert.ok(above.length > 0 && above.every((f) => f.kind === 'native'));
      assert.ok(
        above.some((f) => /^PyThread_acquire_lock/.test(f.function)),
        above.map((f) => f.function).join(' '),
      );
      // The merge keeps every Python frame memory reads, in order.
      const plain = collectStacks(target.pid, { nonblocking: false }).threads.find((t) => t.name === 'left')!;
      assert.deepEqual(pythonOnly(left.frames), plain.frames);
    } finally {
      live.close();
      await target.kill();
    }
  });

  test(`${p.label}: --native shows the sleep's system call and C frames above a sleeping Python frame`, { skip }, async () => {
    const target = await startTarget(p.path, [SLEEPERS]);
    const live = LiveStacks.open(target.pid);
    try {
      const e = await live.readNative({ timeoutMs: 60_000 });
      const alpha = e.threads.find((t) => t.name === 'alpha')!;
      const firstPython = alpha.frames.findIndex((f) => f.kind === undefined);
      assert.deepEqual(alpha.frames[firstPython], { function: 'worker_alpha', file: SLEEPERS, line: SLEEPER_LINES.get('alpha-sleep') });
      // time.sleep: select() up to 3.10 (pselect6 underneath), clock_nanosleep from 3.11.
      assert.match(alpha.frames[0]!.function, /^(select|pselect6|clock_nanosleep|nanosleep|poll|futex)$/);
      assert.equal(alpha.frames[0]!.kind, 'syscall');
      assert.ok(
        alpha.frames.slice(1, firstPython).some((f) => /sleep|select/.test(f.function)),
        JSON.stringify(alpha.frames.slice(0, firstPython)),
      );
      assert.equal(e.threads.filter((t) => !t.native_only).length, 3);
    } finally {
      live.close();
      await target.kill();
    }
  });
}

test('a gdb that overruns its time limit, or is interrupted, is stopped and the target left running and untraced', async () => {
  const target = await startTarget(newestWithLayout().path, [DEADLOCK]);
  const live = LiveStacks.open(target.pid);
  try {
    await assert.rejects(live.readNative({ timeoutMs: 50 }), (err: unknown) => {
      assert.ok(err instanceof GdbTimeout);
      assert.equal(err.limitMs, 50);
      // The advice to take longer names the command's option: src/commands/errorWords.ts adds it.
      assert.match(err.message, /^gdb did not print the native stacks of pid \d+ within 0\.05 s: detached$/);
      return true;
    });
    assertRunningUntraced(target.pid);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(live.readNative({ timeoutMs: 60_000, signal: controller.signal }), (err: Error & { exitCode?: number }) => {
      assert.match(err.message, /^interrupted: gdb detached from pid \d+$/);
      assert.equal(err.exitCode, 130);
      return true;
    });
    assertRunningUntraced(target.pid);
    // And it still reads afterwards.
    assert.equal((await live.readNative({ timeoutMs: 60_000 })).threads.filter((t) => !t.native_only).length, 4);
  } finally {
    live.close();
    await target.kill();
  }
});

function newestWithLayout() {
  return interpreters()
    .filter((p) => layoutFor(p))
    .at(-1)!;
}

function assertRunningUntraced(pid: number): void {
  const status = readStatus(pid);
  assert.doesNotMatch(status.state, /^T/);
  assert.equal(status.tracerPid, 0);
}
