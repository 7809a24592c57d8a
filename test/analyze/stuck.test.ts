import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUSY_CPU_MIN_MS, stuckVerdict, threadFindings, waitOf } from '../../src/analyze/stuck.js';
import type { StackFrame, StackSample, ThreadRunState, ThreadStack } from '../../src/collect/stackTypes.js';

const APP = '/srv/app.py';
const THREADING = '/usr/lib/python3.11/threading.py';

const py = (fn: string, file = APP, line = 10): StackFrame => ({ function: fn, file, line });
const c = (fn: string): StackFrame => ({ function: fn, file: '/usr/bin/python3.11', line: null, kind: 'native' });
const sys = (fn: string): StackFrame => ({ function: fn, file: '[kernel]', line: null, kind: 'syscall' });

function thread(tid: number, name: string, state: ThreadRunState, frames: StackFrame[], extra: Partial<ThreadStack> = {}): ThreadStack {
  return { tid, name, holds_gil: false, state, syscall: state === 'idle' ? 'futex' : null, frames, ...extra };
}

function samples(...readings: ThreadStack[][]): StackSample[] {
  return readings.map((threads, i) => ({ t_ms: i * 200, pause_ms: 0.2, threads }));
}

/** Two threads each holding one lock and wanting the other's, seen with --native. */
const left = (): ThreadStack =>
  thread(11, 'left', 'idle', [
    sys('futex'),
    c('??'),
    c('PyThread_acquire_lock_timed'),
    c('_PyObject_MakeTpCall'),
    py('left', APP, 44),
    c('_PyFunction_Vectorcall'),
    py('Thread.run', THREADING, 975),
  ]);
const right = (): ThreadStack => thread(12, 'right', 'idle', [sys('futex'), c('??'), c('PyThread_acquire_lock_timed'), py('right', APP, 52), py('Thread.run', THREADING, 975)]);

test('a native lock function inside the innermost Python frame is a lock wait, named with its Python caller', () => {
  assert.deepEqual(waitOf(left()), { kind: 'lock', where: 'PyThread_acquire_lock_timed', seen_in: 'native' });
  // The command says how to take more samples (with its flag); analyze/ only places the words.
  const [f] = threadFindings(samples([left()]), '--samples 3');
  assert.equal(threadFindings(samples([left()]))[0]!.summary.endsWith('one sample: more samples tell stuck from busy'), true);
  assert.equal(f!.status, 'issue');
  assert.equal(f!.activity, 'unknown');
  assert.equal(f!.summary, 'acquiring a lock in PyThread_acquire_lock_timed, called from left (app.py:44); one sample: --samples 3 tells stuck from busy');
});

test('threading and queue waits are read off the innermost Python frame, which beats the native lock under it', () => {
  const cond = thread(13, 'consumer', 'idle', [c('PyThread_acquire_lock_timed'), py('Condition.wait', THREADING, 320), py('Queue.get', '/usr/lib/python3.11/queue.py', 171)]);
  assert.deepEqual(waitOf(cond), { kind: 'wait', where: 'Condition.wait (threading.py:320)', seen_in: 'python' });
  assert.equal(waitOf(thread(1, 'main', 'idle', [py('Thread._wait_for_tstate_lock', THREADING, 1132), py('Thread.join', THREADING, 1112)]))?.kind, 'wait');
  assert.equal(waitOf(thread(1, 'main', 'idle', [py('Thread.join', THREADING, 1092)]))?.kind, 'wait'); // 3.13
  assert.equal(waitOf(thread(1, 'w', 'idle', [py('Semaphore.acquire', THREADING, 500)]))?.kind, 'lock');
  assert.equal(waitOf(thread(1, 'w', 'idle', [py('get', '/usr/lib/python2.7/Queue.py', 168)]))?.kind, 'wait'); // 2.7 names
  // The same function names elsewhere say nothing.
  assert.equal(waitOf(thread(1, 'w', 'idle', [py('Pool.get', '/srv/pool.py')])), null);
});

test('a thread taking the GIL back is waiting for the GIL, not for a lock, even without a name for take_gil', () => {
  assert.equal(waitOf(thread(1, 'w', 'idle', [c('??'), c('take_gil'), c('PyEval_RestoreThread'), c('PyThread_acquire_lock_timed'), py('work')]))?.kind, 'gil');
  // Debian's stripped python3: take_gil is static, only the condition variable wait is named.
  assert.deepEqual(waitOf(thread(1, 'w', 'idle', [c('??'), c('pthread_cond_timedwait@@GLIBC_2.3.2'), c('??'), py('work')])), {
    kind: 'gil',
    where: 'pthread_cond_timedwait',
    seen_in: 'native',
  });
  const [f] = threadFindings(samples([thread(1, 'w', 'idle', [c('take_gil'), py('work')])]));
  assert.equal(f!.status, 'insufficient-data', 'a GIL wait alone is no hint');
});

test('two threads with the same stack, asleep at every sample, are stuck, and two stuck on locks are a likely deadlock', () => {
  const findings = threadFindings(samples([left(), right()], [left(), right()], [left(), right()]));
  assert.deepEqual(
    findings.map((f) => [f.name, f.activity, f.status]),
    [
      ['left', 'stuck', 'issue'],
      ['right', 'stuck', 'issue'],
    ],
  );
  assert.deepEqual(findings[0]!.numbers, { samples: 3, same_stack: 3, running: 0, span_ms: 400, cpu_ms: null });
  assert.match(findings[0]!.summary, /; stuck: the same stack in all 3 samples over 400 ms, asleep in futex each time$/);
  assert.deepEqual(stuckVerdict(findings), {
    status: 'issue',
    summary: '2 threads stuck acquiring locks (left, right): a likely deadlock',
    deadlocked: [11, 12],
  });
});

test('a thread that was running in any sample is busy, even with the same stack', () => {
  const spin = (state: ThreadRunState): ThreadStack => thread(1, 'spin', state, [py('main_spin', APP, 80)]);
  const [f] = threadFindings(samples([spin('idle')], [spin('running')], [spin('idle')]));
  assert.equal(f!.activity, 'busy');
  assert.equal(f!.status, 'none');
  assert.equal(f!.summary, 'busy: running in 1 of 3 samples over 400 ms');
});

test('a thread caught runnable once but with no CPU time between samples is stuck: its wait was interrupted by the sampling', () => {
  const wait = (state: ThreadRunState, cpu: number): ThreadStack => thread(1, 'consumer', state, [py('Condition.wait', THREADING, 320)], { cpu_ms: cpu });
  const [f] = threadFindings(samples([wait('idle', 50)], [wait('running', 50.1)], [wait('idle', 50.2)]));
  assert.equal(f!.activity, 'stuck');
  assert.match(f!.summary, /stuck: the same stack in all 3 samples over 400 ms, asleep in futex or waiting for a CPU, 0\.2 ms on the CPU$/);
  // The same thread spending CPU between samples is busy.
  const [g] = threadFindings(samples([wait('idle', 50)], [wait('running', 60)], [wait('idle', 70)]));
  assert.equal(g!.activity, 'busy');
});

test('a thread whose stack changes between samples is busy, though asleep each time', () => {
  const at = (line: number): ThreadStack => thread(1, 'w', 'idle', [py('step', APP, line)]);
  const [f] = threadFindings(samples([at(10)], [at(11)], [at(10)]));
  assert.equal(f!.activity, 'busy');
  assert.equal(f!.summary, 'busy: the stack changed in 1 of 3 samples over 400 ms');
});

test('native frames compare by function and object, so a wait at another pc is the same stack', () => {
  const withPc = (pc: string): ThreadStack => thread(1, 'w', 'idle', [{ ...c('??'), address: pc }, py('work')]);
  const [f] = threadFindings(samples([withPc('0x1')], [withPc('0x2')]));
  assert.equal(f!.activity, 'stuck');
});

test('one stuck thread waiting for another gives a stuck verdict, not a deadlock', () => {
  const consumer = (): ThreadStack => thread(13, 'consumer', 'idle', [py('Condition.wait', THREADING, 320)]);
  const findings = threadFindings(samples([consumer()], [consumer()]));
  assert.equal(findings[0]!.summary, 'waiting for another thread in Condition.wait (threading.py:320); stuck: the same stack in all 2 samples over 200 ms, asleep in futex each time');
  assert.deepEqual(stuckVerdict(findings), { status: 'issue', summary: '1 thread stuck (consumer)', deadlocked: [] });
});

test('from one sample, two threads waiting on locks ask for --samples before calling it a deadlock', () => {
  const v = stuckVerdict(threadFindings(samples([left(), right()])), '--samples 3');
  assert.equal(v.status, 'issue');
  assert.equal(v.summary, '2 threads waiting to acquire locks (left, right): take --samples 3 to see whether they stay so');
  assert.deepEqual(v.deadlocked, []);
});

test('states that cannot tell (a core, a target stopped by someone else) leave the activity unknown', () => {
  const stopped = (): ThreadStack => thread(1, 'w', 'stopped', [py('work')]);
  const [f] = threadFindings(samples([stopped()], [stopped()]));
  assert.equal(f!.activity, 'unknown');
  assert.equal(f!.status, 'none');
});

test('threads are followed by tid; one that appears late is judged on its own samples', () => {
  const idle = (tid: number): ThreadStack => thread(tid, `t${tid}`, 'idle', [py('work')]);
  const findings = threadFindings(samples([idle(1)], [idle(1), idle(2)], [idle(1), idle(2)]));
  assert.deepEqual(
    findings.map((f) => [f.tid, f.numbers.samples, f.activity]),
    [
      [1, 3, 'stuck'],
      [2, 2, 'stuck'],
    ],
  );
});

test('threads with no Python thread state are not judged', () => {
  const cThread = thread(99, 'worker', 'idle', [c('epoll_wait')], { native_only: true });
  assert.deepEqual(threadFindings(samples([cThread], [cThread])), []);
});

test('no flagged thread: one sample says it cannot tell stuck from busy, several say none is stuck', () => {
  const free = (state: ThreadRunState): ThreadStack => thread(1, 'w', state, [py('work')]);
  assert.equal(stuckVerdict(threadFindings(samples([free('running')]))).status, 'insufficient-data');
  assert.deepEqual(stuckVerdict(threadFindings(samples([free('running')], [free('running')]))), {
    status: 'none',
    summary: 'no thread is stuck: every thread ran or moved between samples, or waits for nothing',
    deadlocked: [],
  });
  assert.deepEqual(threadFindings([]), []);
});

test('the threading name is the one findings use, when the agent gave it', () => {
  const [f] = threadFindings(samples([thread(1, 'python3', 'idle', [py('Condition.wait', THREADING, 320)], { thread_name: 'MainThread' })]));
  assert.equal(f!.name, 'MainThread');
});

test('a thread on the CPU for 1 % of the span between samples is busy, though asleep with the same stack at each', () => {
  const at = (cpu: number): ThreadStack => thread(1, 'w', 'idle', [py('churn')], { cpu_ms: cpu });
  const [busy] = threadFindings(samples([at(100)], [at(110)], [at(140)])); // 40 ms of 400 ms
  assert.equal(busy!.activity, 'busy');
  assert.equal(busy!.numbers.cpu_ms, 40);
  assert.equal(busy!.summary, 'busy: 40 ms on the CPU between 3 samples over 400 ms, though asleep at each');
  const [edge] = threadFindings(samples([at(100)], [at(100)], [at(104)])); // exactly 1 % of 400 ms
  assert.equal(edge!.activity, 'busy');
  const [under] = threadFindings(samples([at(100)], [at(100)], [at(103.9)]));
  assert.equal(under!.activity, 'stuck');
  assert.match(under!.summary, /, 3\.9 ms on the CPU$/);
  // Over a short span the floor applies: 1.9 ms of 100 ms is not busy.
  const short = (cpu: number): StackSample[] => [0, 100].map((t, i) => ({ t_ms: t, pause_ms: 0.2, threads: [at(i === 0 ? 50 : 50 + cpu)] }));
  assert.equal(threadFindings(short(BUSY_CPU_MIN_MS - 0.1))[0]!.activity, 'stuck');
  assert.equal(threadFindings(short(BUSY_CPU_MIN_MS))[0]!.activity, 'busy');
});

// Recorded with memwhy stacks --samples 3 --json on Debian's python3 3.11 (see each file's "recorded").

const RECORDED = join(dirname(fileURLToPath(import.meta.url)), 'recorded');
const recorded = (fixture: string): StackSample[] => (JSON.parse(readFileSync(join(RECORDED, `stacks-samples-${fixture}.json`), 'utf8')) as { samples: StackSample[] }).samples;

test("recorded: the deadlock fixture's four threads are all stuck, using well under 1 % of the span", () => {
  const findings = threadFindings(recorded('deadlock_two_locks'));
  assert.deepEqual(
    findings.map((f) => [f.name, f.activity]),
    [
      ['python3', 'stuck'],
      ['left', 'stuck'],
      ['right', 'stuck'],
      ['consumer', 'stuck'],
    ],
  );
  assert.ok(
    findings.every((f) => f.numbers.cpu_ms! < 2),
    JSON.stringify(findings.map((f) => f.numbers)),
  );
});

test('recorded: eight threads churning under one GIL are all busy, some only by their CPU time', () => {
  const findings = threadFindings(recorded('busy_threads'));
  const churners = findings.slice(1);
  assert.equal(churners.length, 8);
  assert.deepEqual(new Set(churners.map((f) => f.activity)), new Set(['busy']));
  assert.ok(churners.every((f) => f.numbers.cpu_ms! > 70));
  assert.equal(findings[0]!.activity, 'stuck', 'the main thread sleeps in time.sleep(0.2) at the same line');
});
