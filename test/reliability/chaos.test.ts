/**
 * Chaos: the target or memwhy dies, stops or changes identity at the worst
 * moment. Whatever happens, the target is left running and detached (or as
 * it was found, when it was stopped), memwhy says what happened in one line,
 * and whatever a killed memwhy left behind is removed by the next one.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interpreters, type Interpreter } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';
import { memwhy, ROOT, type CliResult } from '../helpers/cli.js';
import { agentDirs, lockFiles, processState, threadCount, tracerPid } from '../helpers/procfs.js';
import { assertLeftRunning, assertOneLine, waitFor } from '../helpers/expect.js';
import { seeded } from '../helpers/seeded.js';
import { describePython } from '../../src/target/python.js';
import { openAgentOn } from '../../src/attach/agentSession.js';
import { GdbTransport } from '../../src/attach/gdbTransport.js';
import { MemoryTransport } from '../../src/attach/memoryTransport.js';
import { queueOf } from '../helpers/pendingQueue.js';
import { LiveStacks } from '../../src/collect/liveStacks.js';

const all = interpreters();
const debian = all.find((p) => p.label.startsWith('debian')) ?? all[all.length - 1]!;
const py27 = all.find((p) => p.version.startsWith('2.7'));
const isRoot = process.getuid?.() === 0;

/** memwhy's CLI as a child we can signal: node itself, not the bin/memwhy wrapper (a signal must reach memwhy). */
function spawnMemwhy(args: string[]): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { child, result };
}

function ticks(t: Target): number {
  return (t.stdout().match(/^tick \d+$/gm) ?? []).length;
}

/** The target still runs its own Python code: it prints more ticks. */
async function assertStillTicking(t: Target): Promise<void> {
  const before = ticks(t);
  await waitFor(() => ticks(t) >= before + 3, 10_000, `pid ${t.pid} ticking on`);
}

/** What a memwhy of pid `memwhyPid` may have left in this machine's /tmp. */
function hostLeftovers(memwhyPid: number, targetPid: number): string[] {
  return readdirSync('/tmp').filter((n) => n.startsWith(`memwhy-${memwhyPid}.`) || n === `.memwhy-${targetPid}.lock`);
}

before(async () => {
  // Builds dist/ if the sources are newer: the tests below run dist/cli.js directly.
  assert.equal((await memwhy(['--version'])).code, 0);
  console.log(
    `chaos: interpreters ${[debian, py27]
      .filter(Boolean)
      .map((p) => p!.label)
      .join(', ')}`,
  );
});

describe('a target that is stopped, a zombie, or gone', () => {
  test('a SIGSTOPped target is refused in one line and left stopped, untouched', async () => {
    const target = await startTarget(debian.path, ['idle_sleeper.py'], { privateTmp: true });
    try {
      const threads = threadCount(target.pid);
      process.kill(target.pid, 'SIGSTOP');
      await waitFor(() => processState(target.pid) === 'T', 5_000, 'stopped');
      const r = await memwhy(['exec', String(target.pid), '-c', 'print(1)']);
      assertOneLine(r, /is stopped .*leaves it as it is.*kill -CONT/);
      assert.equal(processState(target.pid), 'T', 'still stopped');
      assert.equal(tracerPid(target.pid), 0);
      assert.equal(threadCount(target.pid), threads, 'no thread started in it');
      assert.deepEqual(agentDirs(target.pid), []);
      // Reading stacks needs no resume, and leaves it stopped too.
      const s = await memwhy(['stacks', String(target.pid)]);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /stopped already \(read as it was, left stopped\)/);
      assert.match(s.stdout, /fixture\.py:\d+/);
      assert.equal(processState(target.pid), 'T', 'stacks left it stopped');
      process.kill(target.pid, 'SIGCONT');
    } finally {
      await target.kill();
    }
  });

  test('a zombie gets one line from every kind of command', async () => {
    const parent = await startTarget(debian.path, ['leave_a_zombie.py']);
    try {
      const zombie = Number(/^ready (\d+)$/m.exec(parent.stdout())![1]);
      assert.equal(processState(zombie), 'Z');
      for (const args of [
        ['exec', String(zombie), '-c', 'pass'],
        ['heap', String(zombie)],
        ['stacks', String(zombie)],
      ]) {
        assertOneLine(await memwhy(args), /pid \d+ has exited \(it is a zombie/);
      }
    } finally {
      await parent.kill();
    }
  });

  test('a pid reused by another program between the look and the attach is never touched', { skip: !isRoot && 'needs root to pick the next pid' }, async () => {
    const target = await startTarget(debian.path, ['idle_sleeper.py']);
    const described = describePython(target.pid);
    const stacks = LiveStacks.open(target.pid);
    await target.kill();
    const impostor = await spawnAtPid(described.pid, 'sleep', ['60']);
    try {
      // The transport checks after attaching (the pid is pinned then)...
      await assert.rejects(
        new GdbTransport().inject(described, 'raise SystemExit', { safePointTimeoutS: 5 }),
        /pid \d+ is no longer the Python process memwhy examined \(it exited and the pid was reused\): nothing was done to it/,
      );
      // ...the memory transport checks before it stops anything...
      await assert.rejects(
        new MemoryTransport().inject(described, 'raise SystemExit', { safePointTimeoutS: 5 }),
        /pid \d+ is no longer the Python process memwhy examined \(it exited and the pid was reused\): nothing was done to it/,
      );
      // ...and a session refuses before it starts gdb at all...
      await assert.rejects(openAgentOn(described), /no longer the Python process memwhy examined/);
      // ...and a stacks reading does not stop it (SIGSTOP) to read it.
      assert.throws(() => stacks.read({ nonblocking: false }), /no longer the Python process memwhy examined/);
      assert.equal(impostor.exitCode, null, 'the other program still runs');
      assert.equal(tracerPid(described.pid), 0, 'and is not traced');
      assert.equal(processState(described.pid), 'S');
      assert.ok(!existsSync(`/tmp/.memwhy-${described.pid}.lock`), 'no lock left');
    } finally {
      stacks.close();
      impostor.kill('SIGKILL');
    }
  });

  test('a target killed in the middle of a heap census: one line, nothing left behind', async () => {
    const target = await startTarget(debian.path, ['hold_many_objects.py', '400000']);
    const threads = threadCount(target.pid);
    const run = spawnMemwhy(['heap', String(target.pid)]);
    try {
      // The agent is in once memwhy's private directory exists, its thread runs in the target, and gdb has let go.
      await waitFor(() => hostLeftovers(run.child.pid!, -1).length > 0 && threadCount(target.pid) > threads && tracerPid(target.pid) === 0, 30_000, 'agent connected');
      await new Promise((r) => setTimeout(r, 150));
      await target.kill();
      const r = await run.result;
      assertOneLine(r, /the target \(pid \d+\) exited/);
      assert.deepEqual(hostLeftovers(run.child.pid!, target.pid), []);
    } finally {
      run.child.kill('SIGKILL');
      await target.kill();
    }
  });
});

describe('memwhy itself interrupted or killed', () => {
  test('SIGTERM while waiting for a safe point detaches and exits 143', async () => {
    const target = await startTarget(debian.path, ['gil_hog.py', '8'], { privateTmp: true });
    try {
      const run = spawnMemwhy(['exec', String(target.pid), '--transport', 'gdb', '--timeout', '30s', '-c', 'pass']);
      await waitFor(() => tracerPid(target.pid) !== 0, 10_000, 'gdb attached');
      run.child.kill('SIGTERM');
      const r = await run.result;
      assert.equal(r.code, 143, r.stderr);
      assert.match(r.stderr, /interrupted; pid \d+ was left running, detached/);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
      assertLeftRunning(target);
    } finally {
      await target.kill();
    }
  });

  test('SIGTERM while a queued call waits takes the call back and exits 143', async () => {
    const target = await startTarget(debian.path, ['idle_deep_sleep.py'], { privateTmp: true });
    try {
      const run = spawnMemwhy(['exec', String(target.pid), '--transport', 'memory', '--timeout', '30s', '-c', 'pass']);
      await waitFor(() => queueOf(target.pid).waiting > 0, 20_000, 'the call queued');
      run.child.kill('SIGTERM');
      const r = await run.result;
      assert.equal(r.code, 143, r.stderr);
      assert.match(r.stderr, /interrupted; memwhy took its queued call back; pid \d+ was left running/);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
      assert.equal(queueOf(target.pid).waiting, 0, 'nothing left queued');
      assertLeftRunning(target);
      assert.doesNotMatch(target.stdout(), /woke/);
    } finally {
      await target.kill();
    }
  });

  // MEMWHY_CHAOS_KILLS=N kills at N seeded random moments instead (on every
  // interpreter with MEMWHY_CHAOS_ALL=1): the longer campaign in RELIABILITY.md.
  const kills = Number(process.env.MEMWHY_CHAOS_KILLS ?? 0);
  const killed = process.env.MEMWHY_CHAOS_ALL === '1' ? all : [debian, py27].filter((p): p is Interpreter => p !== undefined);
  for (const py of killed) {
    test(`SIGKILL of memwhy at any moment of an attach leaves ${py.label} running, and the next memwhy cleans up`, async () => {
      const target = await startTarget(py.path, ['tick_while_sleeping.py'], { privateTmp: true });
      try {
        // From gdb starting, through breakpoints waiting, the bootstrap call and the agent connecting.
        const random = seeded(py.minor * 100 + py.major);
        const delaysMs = kills > 0 ? Array.from({ length: kills }, () => Math.round(100 + random() * 2400)) : [150, 400, 700, 1000, 1300, 1700, 2300];
        for (const delay of delaysMs) {
          const run = spawnMemwhy(['exec', String(target.pid), '-c', 'import time; time.sleep(1)']);
          await new Promise((r) => setTimeout(r, delay));
          run.child.kill('SIGKILL');
          await run.result;
          // gdb reads end-of-file on its stdin, detaches and quits.
          await waitFor(() => tracerPid(target.pid) === 0, 10_000, `gdb gone after a kill at ${delay} ms`);
          await assertStillTicking(target);
        }
        const r = await memwhy(['exec', String(target.pid), '-c', 'print(6*7)']);
        assert.equal(r.stdout, '42\n', r.stderr);
        assertLeftRunning(target);
        assert.deepEqual(lockFiles(target.pid), [], 'stale locks removed');
        console.log(`chaos: ${py.label}: memwhy SIGKILLed ${delaysMs.length} times, at ${delaysMs.join(', ')} ms; target ran on, next run clean`);
      } finally {
        await target.kill();
      }
    });
  }

  test("a killed memwhy's agent still running exec while the next memwhy runs one: the program's output goes on, as it was", async () => {
    // The target died so once (a NameError from a stand-in for sys.stdout
    // whose module the agent had cleared): src/agent/repl.py.
    const target = await startTarget(debian.path, ['tick_while_sleeping.py'], { privateTmp: true });
    try {
      const threads = threadCount(target.pid);
      const run = spawnMemwhy(['exec', String(target.pid), '-c', 'import time; time.sleep(1)']);
      await waitFor(() => agentDirs(target.pid).length > 0 && tracerPid(target.pid) === 0 && threadCount(target.pid) > threads, 30_000, 'agent busy');
      run.child.kill('SIGKILL');
      await run.result;
      // Started while the first call still sleeps, it ends after it: it then
      // puts back the stand-in the first agent made, which has finished.
      const second = await memwhy(['exec', String(target.pid), '--wait', '0s', '-c', 'import time; time.sleep(2); print(6*7)']);
      assert.equal(second.stdout, '42\n', second.stderr);
      await waitFor(() => threadCount(target.pid) === threads, 15_000, 'both agent threads gone');
      await assertStillTicking(target);
      const beneath = await memwhy(['exec', String(target.pid), '-c', "import sys; print(type(sys.stdout.__dict__['_original']).__name__, type(sys.stderr.__dict__['_original']).__name__)"]);
      assert.equal(beneath.stdout, 'TextIOWrapper TextIOWrapper\n', beneath.stderr);
      assertLeftRunning(target);
    } finally {
      await target.kill();
    }
  });

  test('SIGKILL of memwhy while its agent is busy: the agent ends, the next memwhy removes what was left', async () => {
    const target = await startTarget(debian.path, ['tick_while_sleeping.py'], { privateTmp: true });
    try {
      const threads = threadCount(target.pid);
      const run = spawnMemwhy(['exec', String(target.pid), '-c', 'import time; time.sleep(2)']);
      await waitFor(() => agentDirs(target.pid).length > 0 && tracerPid(target.pid) === 0 && threadCount(target.pid) > threads, 30_000, 'agent busy');
      run.child.kill('SIGKILL');
      await run.result;
      assert.equal(agentDirs(target.pid).length, 1, 'the killed memwhy could not remove its directory');
      assert.equal(lockFiles(target.pid).length, 1, 'nor its lock');
      // The agent notices the closed socket once its call returns, and its thread ends.
      await waitFor(() => threadCount(target.pid) === threads, 15_000, 'agent thread gone');
      await assertStillTicking(target);
      const r = await memwhy(['exec', String(target.pid), '--wait', '0s', '-c', 'print(6*7)']);
      assert.equal(r.stdout, '42\n', r.stderr);
      assertLeftRunning(target);
      assert.deepEqual(lockFiles(target.pid), []);
    } finally {
      await target.kill();
    }
  });

  test('two memwhys on one pid take turns and both answer correctly', async () => {
    const target = await startTarget(debian.path, ['tick_while_sleeping.py'], { privateTmp: true });
    try {
      for (let round = 0; round < 3; round++) {
        const [a, b] = await Promise.all([
          memwhy(['exec', String(target.pid), '--wait', '60s', '-c', 'print("a%d" % (6*7))']),
          memwhy(['exec', String(target.pid), '--wait', '60s', '-c', 'print("b%d" % (6*7))']),
        ]);
        assert.equal(a.stdout, 'a42\n', a.stderr);
        assert.equal(b.stdout, 'b42\n', b.stderr);
      }
      await assertStillTicking(target);
      assertLeftRunning(target);
      assert.deepEqual(lockFiles(target.pid), []);
    } finally {
      await target.kill();
    }
  });
});

/**
 * Starts `cmd` so that it gets pid `pid`: the kernel hands out
 * ns_last_pid + 1 next, unless another fork on the machine wins the race,
 * so try until it lands.
 */
async function spawnAtPid(pid: number, cmd: string, args: string[]): Promise<ChildProcess> {
  for (let attempt = 0; attempt < 50; attempt++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn(cmd, args, { stdio: 'ignore' });
    if (child.pid === pid) {
      await waitFor(() => processState(pid) === 'S', 5_000, 'impostor asleep');
      return child;
    }
    child.kill('SIGKILL');
  }
  throw new Error(`could not start a process with pid ${pid} in 50 tries`);
}
