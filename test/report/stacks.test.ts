import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderStacks } from '../../src/report/stacks.js';
import { stuckVerdict, threadFindings } from '../../src/analyze/stuck.js';
import type { StacksEvidence, ThreadStack } from '../../src/collect/stackTypes.js';

const left: ThreadStack = {
  tid: 11,
  name: 'left',
  holds_gil: false,
  state: 'idle',
  syscall: 'futex',
  frames: [
    { function: 'futex', file: '[kernel]', line: null, kind: 'syscall' },
    { function: '??', file: '/lib/x86_64-linux-gnu/libc.so.6', line: null, kind: 'native', address: '0x7f00', offset: '0x85f16' },
    { function: 'PyThread_acquire_lock_timed', file: '/usr/lib/libpython3.12.so.1.0', line: null, kind: 'native', address: '0x7f01', source: 'Python/thread_pthread.h:486' },
    { function: 'left', file: '/srv/app.py', line: 44 },
  ],
};

function report(e: StacksEvidence): string {
  // As `memwhy stacks` words it from its option table.
  const findings = threadFindings(e.samples ?? [{ t_ms: 0, pause_ms: e.pause_ms, threads: e.threads }], '--samples 3');
  return renderStacks({ evidence: e, findings, verdict: stuckVerdict(findings, '--samples 3') });
}

const base: StacksEvidence = { pid: 10, version: '3.12.1', source: 'memory', native: true, pause_ms: 812.4, read_ms: 900, warnings: [], threads: [left] };

test('native frames are marked and named by object, with the offset when gdb has no name and the source line when it has one', () => {
  const out = report(base);
  assert.equal(
    out,
    [
      'pid 10 · CPython 3.12.1 · 1 Python thread · paused 812 ms · native frames from gdb',
      '',
      '1 thread waiting (left)',
      '  ! Thread 11 "left": acquiring a lock in PyThread_acquire_lock_timed, called from left (app.py:44); one sample: --samples 3 tells stuck from busy',
      '',
      'Thread 11 "left" (idle in futex)',
      '    [kernel] futex',
      '    [native] ?? (libc.so.6+0x85f16)',
      '    [native] PyThread_acquire_lock_timed (libpython3.12.so.1.0, Python/thread_pthread.h:486)',
      '    left (/srv/app.py:44)',
      '',
    ].join('\n'),
  );
});

test('the agent path says so, shows threading names beside OS names, and C-only threads are counted apart', () => {
  const out = report({
    ...base,
    source: 'agent',
    native: false,
    pause_ms: 0,
    threads: [
      { tid: 10, name: 'python3', thread_name: 'MainThread', holds_gil: null, state: 'running', syscall: null, frames: [{ function: 'main', file: '/srv/app.py', line: 3 }] },
      { tid: 12, name: 'worker', holds_gil: false, state: 'idle', frames: [{ function: 'epoll_wait', file: '/lib/libc.so.6', line: null, kind: 'native' }], native_only: true },
    ],
  });
  assert.match(out, /^pid 10 · CPython 3\.12\.1 · 1 Python thread \+ 1 other · through the agent \(sys\._current_frames\(\) in the target\), not paused\n/);
  assert.match(out, /^Thread 10 "python3" \(threading: "MainThread"\) \(running\)$/m);
  assert.match(out, /^Thread 12 "worker" \(idle, no Python thread state\)$/m);
  assert.doesNotMatch(out, /!/, 'nothing flagged from one sample of free threads');
});

test('with samples the verdict comes first even when nothing is flagged, and a merge note shows under the frames', () => {
  const busy: ThreadStack = {
    tid: 11,
    name: 'w',
    holds_gil: true,
    state: 'running',
    frames: [{ function: 'spin', file: '/srv/app.py', line: 9 }],
    note: 'gdb shows 1 eval loop call where memory shows 2',
  };
  const out = report({ ...base, samples: [0, 200, 400].map((t) => ({ t_ms: t, pause_ms: 1, threads: [busy] })), threads: [busy] });
  assert.match(
    out,
    /· 3 samples over 400 ms, the last shown\n\nno thread is stuck: every thread ran or moved between samples, or waits for nothing\n\nThread 11 "w" \(running, holds the GIL\)\n    spin \(\/srv\/app\.py:9\)\n    \(gdb shows 1 eval loop call where memory shows 2\)\n$/,
  );
});
