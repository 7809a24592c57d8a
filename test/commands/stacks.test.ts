/** `memwhy stacks` end to end: the real CLI against real Python processes and their cores. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { basename, join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES, startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import { layoutFor } from '../../src/cpython/layouts.js';
import { readStatus, readTaskIds, readTaskStat } from '../../src/target/proc.js';
import { describePython } from '../../src/target/python.js';
import { markerLines } from '../cpython/fixture-lines.js';
import { tempDir } from '../helpers/tempDir.js';

const FIXTURE = join(FIXTURES, 'threads_in_known_functions.py');
const LINES = markerLines(FIXTURE);

interface Json {
  pid: number;
  version: string;
  source: string;
  pause_ms: number;
  threads: {
    tid: number | null;
    name: string | null;
    thread_name?: string;
    holds_gil: boolean | null;
    state: string;
    frames: { function: string; file: string; line: number | null; locals?: { name: string; type: string; value: string }[] }[];
  }[];
}

const dir = tempDir('memwhy-stacks-');
after(() => rmSync(dir, { recursive: true, force: true }));

const stopped = (pid: number): boolean => /^T/.test(readStatus(pid).state);

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

const newest = interpreters()
  .filter((p) => layoutFor(p))
  .at(-1)!;

test('memwhy stacks --json prints one document with pid, version, source, pause and each thread', async () => {
  const target = await startTarget(newest.path, [FIXTURE]);
  try {
    const r = await memwhy(['stacks', String(target.pid), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Json;
    assert.equal(doc.pid, target.pid);
    assert.equal(doc.version, newest.version);
    assert.equal(doc.source, 'memory');
    assert.ok(doc.pause_ms > 0);
    assert.deepEqual(Object.keys(doc.threads[0]!).sort(), ['cpu_ms', 'frames', 'holds_gil', 'name', 'state', 'syscall', 'tid']);
    assert.deepEqual(doc.threads.map((t) => t.name).sort(), ['alpha', 'beta', doc.threads.find((t) => t.tid === target.pid)!.name].sort());
    assert.equal(stopped(target.pid), false);
  } finally {
    await target.kill();
  }
});

test('memwhy stacks prints each thread with its marks and frames as "function (file:line)"', async () => {
  const target = await startTarget(newest.path, [FIXTURE, '--spin']);
  try {
    const r = await memwhy(['stacks', String(target.pid)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^pid ${target.pid} · CPython ${newest.version.replace(/\./g, '\\.')} · 3 Python threads · paused [\\d.]+ ms\\n`));
    assert.match(r.stdout, new RegExp(`^Thread ${target.pid} "[^"]+" \\(running, holds the GIL\\)\\n    main_spin \\(${FIXTURE}:${LINES.get('main-spin')}\\)$`, 'm'));
    // Asleep in time.sleep: select() up to 3.10, clock_nanosleep from 3.11.
    assert.match(r.stdout, new RegExp(`^Thread \\d+ "alpha" \\(idle in (clock_nanosleep|pselect6|select)\\)\\n    worker_alpha \\(${FIXTURE}:${LINES.get('alpha-sleep')}\\)$`, 'm'));
  } finally {
    await target.kill();
  }
});

for (const py of interpreters()) {
  const skip = layoutFor(py) ? false : `no layout for CPython ${py.version}`;
  test(`${py.label}: stacks from a core equal the live stacks of the same stopped moment`, { skip }, async () => {
    const target = await startTarget(py.path, [FIXTURE, '--spin']);
    const core = join(dir, `core.${py.label}`);
    try {
      // "ready" is written with the GIL released; let the spinner take it back before stopping it.
      await new Promise((r) => setTimeout(r, 200));
      process.kill(target.pid, 'SIGSTOP');
      await waitFor(() => stopped(target.pid));
      const dumped = await memwhy(['core', String(target.pid), '-o', core, '--json']);
      assert.equal(dumped.code, 0, dumped.stderr);
      assert.equal(stopped(target.pid), true, 'gdb leaves a stopped target stopped');
      const live = await memwhy(['stacks', String(target.pid), '--json']);
      assert.equal(live.code, 0, live.stderr);
      assert.equal(stopped(target.pid), true, 'memwhy leaves a stopped target stopped');
      const fromCore = await memwhy(['stacks', '--core', core, '--json']);
      assert.equal(fromCore.code, 0, fromCore.stderr);
      const a = JSON.parse(live.stdout) as Json;
      const b = JSON.parse(fromCore.stdout) as Json;
      assert.equal(b.source, 'core');
      assert.equal(b.pid, target.pid);
      const essence = (d: Json) => d.threads.map(({ tid, holds_gil, frames }) => ({ tid, holds_gil, frames }));
      assert.deepEqual(essence(b), essence(a));
      // 2.7 drops the GIL for an instant every 100 ticks, so its stop may catch nobody holding it.
      if (py.major > 2) assert.equal(a.threads.find((t) => t.tid === target.pid)?.holds_gil, true);
    } finally {
      rmSync(core, { force: true });
      await target.kill();
    }
  });
}

test('memwhy core continues a running target and reports the file', async () => {
  const target = await startTarget(newest.path, [FIXTURE]);
  const core = join(dir, 'core.running');
  try {
    const r = await memwhy(['core', String(target.pid), '-o', core]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${core}: [\\d.]+ MiB, pid ${target.pid} paused [\\d.]+ s\\n$`));
    assert.equal(stopped(target.pid), false);
  } finally {
    rmSync(core, { force: true });
    await target.kill();
  }
});

test('memwhy stacks of a process that is not Python fails with one line', async () => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const r = await memwhy(['stacks', String(sleeper.pid)]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^memwhy: pid \d+ is not a Python process: it runs \/\S*sleep\n$/);
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('memwhy stacks --core with a file that is not a core fails with one line', async () => {
  const notCore = join(dir, 'not-a-core');
  writeFileSync(notCore, 'hello');
  const r = await memwhy(['stacks', '--core', notCore]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const both = await memwhy(['stacks', '123', '--core', notCore]);
  assert.match(both.stderr, /^memwhy: give either a pid or --core FILE, not both\n$/);
  const none = await memwhy(['stacks']);
  assert.match(none.stderr, /is not a pid/);
});

test('memwhy core of a pid that does not exist fails with one line and leaves no file', async () => {
  const r = await memwhy(['core', String(2 ** 22 + 12345), '-o', join(dir, 'core.missing')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^memwhy: no process with pid \d+[^\n]*\n$/);
  assert.equal(existsSync(join(dir, 'core.missing')), false);
});

test('memwhy stacks --core --exe takes symbols from the given interpreter and refuses another build', async () => {
  const target = await startTarget(newest.path, [FIXTURE]);
  const core = join(dir, 'core.exe');
  try {
    const dumped = await memwhy(['core', String(target.pid), '-o', core]);
    assert.equal(dumped.code, 0, dumped.stderr);
    const info = describePython(target.pid);
    const original = info.libpython ?? info.exe;
    const good = await memwhy(['stacks', '--core', core, '--exe', original, '--json']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal((JSON.parse(good.stdout) as Json).threads.length, 3);
    // Another interpreter under the same file name: its headers differ from the mapped one's.
    const other = interpreters().find((p) => p.path !== newest.path && p.version !== newest.version)!;
    const otherInfo = await startTarget(other.path, [FIXTURE]).then(async (t) => {
      try {
        return describePython(t.pid);
      } finally {
        await t.kill();
      }
    });
    const impostor = join(dir, basename(original));
    copyFileSync(otherInfo.libpython ?? otherInfo.exe, impostor);
    const bad = await memwhy(['stacks', '--core', core, '--exe', impostor]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^memwhy: \S+ is not the \S+ the process ran \(their ELF headers differ\)[^\n]*\n$/);
  } finally {
    rmSync(core, { force: true });
    await target.kill();
  }
});

test('memwhy stacks --locals prints each local under its frame, and --json carries them', async () => {
  const target = await startTarget(newest.path, [FIXTURE]);
  try {
    const human = await memwhy(['stacks', String(target.pid), '--locals']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`    worker_alpha \\(${FIXTURE}:${LINES.get('alpha-sleep')}\\)\\n(        \\w+ = .*\\n)*        count = 42\\n`));
    const json = await memwhy(['stacks', String(target.pid), '--locals', '--json']);
    const doc = JSON.parse(json.stdout) as Json;
    const alpha = doc.threads.find((t) => t.name === 'alpha')!;
    assert.deepEqual(
      alpha.frames[0]!.locals!.find((l) => l.name === 'label'),
      { name: 'label', type: 'str', value: "'alpha-label'" },
    );
  } finally {
    await target.kill();
  }
});

test('the foreground job of a terminal is read without a pause, with a warning saying why', { skip: existsSync('/usr/bin/script') ? false : 'no script(1) to make a terminal' }, async () => {
  // script(1) gives the fixture a terminal whose foreground process group it is.
  const term = spawn('script', ['-qfec', `exec ${newest.path} -u ${FIXTURE}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "ready" through the terminal')), 20_000);
      term.stdout.on('data', (d: Buffer) => {
        if (/ready/.test(d.toString())) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const pid = Number(readFileSync(`/proc/${term.pid}/task/${term.pid}/children`, 'utf8').trim().split(' ')[0]);
    const r = await memwhy(['stacks', String(pid), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Json & { warnings: string[] };
    assert.equal(doc.pause_ms, 0);
    assert.match(doc.warnings[0] ?? '', /foreground job of a terminal/);
    assert.match(r.stderr, /^memwhy: pid \d+ is the foreground job of a terminal[^\n]*\n$/);
    assert.equal(doc.threads.length, 3);
  } finally {
    let children = '';
    try {
      children = readFileSync(`/proc/${term.pid}/task/${term.pid}/children`, 'utf8').trim();
    } catch {
      // script already gone
    }
    for (const p of children.split(' ').filter(Boolean)) process.kill(Number(p), 'SIGKILL');
    term.kill('SIGKILL');
  }
});

// Deadlock hints, end to end.

const DEADLOCK = join(FIXTURES, 'deadlock_two_locks.py');
const DEADLOCK_LINES = markerLines(DEADLOCK);

interface Finding {
  tid: number | null;
  name: string | null;
  status: string;
  activity: string;
  wait: { kind: string; where: string; seen_in: string } | null;
  summary: string;
}
interface HintsJson extends Json {
  native: boolean;
  samples?: { t_ms: number; threads: unknown[] }[];
  findings: Finding[];
  verdict: { status: string; summary: string; deadlocked: (number | null)[] };
}

const finding = (doc: HintsJson, name: string): Finding => doc.findings.find((f) => f.name === name) ?? assert.fail(`no finding for ${name}: ${JSON.stringify(doc.findings)}`);
const debian311 = interpreters().find((p) => p.label === 'debian-3.11');

/** Waits (up to 10 s) until every thread of `pid` has been asleep (state S) at three polls in a row, 100 ms apart. */
async function allThreadsAsleep(pid: number): Promise<void> {
  let streak = 0;
  for (let i = 0; i < 100 && streak < 3; i++) {
    const states = readTaskIds(pid).map((tid) => readTaskStat(pid, tid)?.state);
    streak = states.every((st) => st === 'S') ? streak + 1 : 0;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const nativeRuns = [debian311, newest].filter((p): p is NonNullable<typeof p> => p !== undefined);

for (const py of nativeRuns) {
  test(`${py.label}: --native flags both deadlocked threads as acquiring a lock, and --samples 3 finds both stuck: a likely deadlock`, async () => {
    const target = await startTarget(py.path, [DEADLOCK]);
    try {
      // "ready" comes 0.2 s after the threads start; on a loaded machine they
      // may not sit in their lock waits yet: wait until every thread sleeps.
      await allThreadsAsleep(target.pid);
      const r = await memwhy(['stacks', String(target.pid), '--native', '--samples', '3', '--json'], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as HintsJson;
      assert.equal(doc.native, true);
      assert.equal(doc.samples?.length, 3);
      for (const name of ['left', 'right']) {
        const f = finding(doc, name);
        assert.equal(f.wait?.kind, 'lock', JSON.stringify(f));
        assert.equal(f.wait?.seen_in, 'native');
        assert.equal(f.activity, 'stuck', JSON.stringify(f));
        assert.equal(f.status, 'issue');
      }
      // The other two wait for threads, not on a lock: no part of the deadlock.
      assert.equal(finding(doc, 'consumer').wait?.kind, 'wait');
      assert.equal(finding(doc, 'consumer').activity, 'stuck', JSON.stringify(finding(doc, 'consumer')));
      const left = doc.threads.find((t) => t.name === 'left')!;
      const right = doc.threads.find((t) => t.name === 'right')!;
      assert.deepEqual(doc.verdict.deadlocked.sort(), [left.tid, right.tid].sort());
      assert.match(doc.verdict.summary, /^2 threads stuck acquiring locks \(left, right\): a likely deadlock$/);
      assert.equal(stopped(target.pid), false);

      const human = await memwhy(['stacks', String(target.pid), '--native'], { timeoutMs: 120_000 });
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^2 threads waiting to acquire locks \(left, right\): take --samples 3 to see whether they stay so$/m);
      assert.match(
        human.stdout,
        new RegExp(
          `^  ! Thread \\d+ "left": acquiring a lock in PyThread_acquire_lock\\w*, called from left \\(deadlock_two_locks\\.py:${DEADLOCK_LINES.get('left-wants-b')}\\); one sample`,
          'm',
        ),
      );
      assert.match(human.stdout, /^Thread \d+ "left" \(idle in futex\)\n    \[kernel\] futex\n    \[native\] /m);
    } finally {
      await target.kill();
    }
  });
}

for (const py of interpreters()) {
  const skip = layoutFor(py) ? false : `no layout for CPython ${py.version}`;
  test(`${py.label}: --samples 3 without --native finds the deadlocked threads stuck and the waits in threading and queue`, { skip }, async () => {
    const target = await startTarget(py.path, [DEADLOCK]);
    try {
      const r = await memwhy(['stacks', String(target.pid), '--samples', '3', '--every', '100ms', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as HintsJson;
      for (const name of ['left', 'right', 'consumer']) assert.equal(finding(doc, name).activity, 'stuck', name);
      // A plain Lock is taken in C: memory alone sees the Python frame that takes it, not the wait.
      assert.equal(finding(doc, 'left').wait, null);
      assert.match(finding(doc, 'consumer').wait?.where ?? '', /(^|\.)wait \(threading\.py:\d+\)$/);
      const main = doc.findings.find((f) => f.tid === target.pid)!;
      assert.equal(main.wait?.kind, 'wait', JSON.stringify(main)); // Thread.join
    } finally {
      await target.kill();
    }
  });
}

test('a spinning thread is busy and sleeping threads are stuck, over 3 samples', async () => {
  const target = await startTarget(newest.path, [FIXTURE, '--spin']);
  try {
    const r = await memwhy(['stacks', String(target.pid), '--samples', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as HintsJson;
    const main = doc.findings.find((f) => f.tid === target.pid)!;
    assert.equal(main.activity, 'busy');
    assert.equal(main.status, 'none');
    assert.match(main.summary, /^busy: running in [123] of 3 samples over \d+ ms$/);
    assert.equal(finding(doc, 'alpha').activity, 'stuck'); // in time.sleep(3600)
    assert.ok(doc.samples!.every((s, i) => i === 0 || s.t_ms >= doc.samples![i - 1]!.t_ms + 150));
  } finally {
    await target.kill();
  }
});

test('threads churning objects are busy: their stacks change or they run', async () => {
  const target = await startTarget(newest.path, [join(FIXTURES, 'busy_threads.py')]);
  try {
    const r = await memwhy(['stacks', String(target.pid), '--samples', '4', '--every', '100ms', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as HintsJson;
    const churners = doc.findings.filter((f) => f.tid !== target.pid);
    assert.equal(churners.length, 8);
    const why = JSON.stringify(churners.map((f) => [f.tid, f.activity, f.summary]));
    // Eight threads, one GIL, a loaded machine: a thread can go the whole
    // window without the GIL, asleep in its futex with next to no CPU. Memory
    // alone cannot tell that from a lock wait (--native can: take_gil). The
    // syscall it sleeps in is read per sample and may differ between them.
    assert.ok(churners.filter((f) => f.activity === 'busy').length >= 6, why);
    // Runnable in a sample but with the same stack and next to no CPU (it
    // waited for a core, then for the GIL) is said "or waiting for a CPU".
    for (const f of churners.filter((x) => x.activity !== 'busy')) assert.match(f.summary, /asleep (in \w+ )?(each time|or waiting for a CPU)/, why);
  } finally {
    await target.kill();
  }
});

test('memwhy stacks --via agent says it ran code in the target and shows threading names', async () => {
  const target = await startTarget(newest.path, [FIXTURE]);
  try {
    const r = await memwhy(['stacks', String(target.pid), '--via', 'agent']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pid \d+ · CPython [\d.]+ · 3 Python threads · through the agent \(sys\._current_frames\(\) in the target\), not paused\n/);
    assert.match(r.stdout, new RegExp(`^Thread ${target.pid} "[^"]+" \\(threading: "MainThread"\\)`, 'm'));
    const json = await memwhy(['stacks', String(target.pid), '--via', 'agent', '--json']);
    const doc = JSON.parse(json.stdout) as Json;
    assert.equal(doc.source, 'agent');
    assert.deepEqual(doc.threads.map((t) => t.thread_name).sort(), ['MainThread', 'alpha', 'beta']);
    const bad = await memwhy(['stacks', String(target.pid), '--via', 'agent', '--native']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^memwhy: --via agent gives Python frames only/);
  } finally {
    await target.kill();
  }
});

test('--native with --nonblocking, and --samples with --core, fail with one line', async () => {
  const a = await memwhy(['stacks', '123', '--native', '--nonblocking']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /^memwhy: --native stops the target \(gdb attaches to it\): leave out --nonblocking\n$/);
  const b = await memwhy(['stacks', '--core', '/nonexistent', '--samples', '3']);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /^memwhy: a core is one moment read from memory/);
  const c = await memwhy(['stacks', '123', '--samples', '0']);
  assert.match(c.stderr, /^memwhy: --samples takes a whole number of at least 1, not "0"\n$/);
});
