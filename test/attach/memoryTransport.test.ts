/**
 * The memory transport end to end, with gdb hidden from PATH as on a slim
 * host: real targets on every CPython here, the real CLI, the real agent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES, startTarget, type Target } from '../helpers/target.js';
import { waitFor } from '../helpers/expect.js';
import { memwhy } from '../helpers/cli.js';
import { pathWithoutGdb } from '../helpers/noGdb.js';
import { agentDirs, processState, tracerPid } from '../helpers/procfs.js';
import { queueOf } from '../helpers/pendingQueue.js';

const noGdb = { PATH: pathWithoutGdb() };

interface ExecJson {
  stdout: string;
  attach: { transport: string; safe_point: string; stopped_ms: number };
}

async function execJson(pid: number, code: string, extra: string[] = []): Promise<ExecJson> {
  const r = await memwhy(['exec', String(pid), '-c', code, '--json', ...extra], { env: noGdb });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ExecJson;
}

for (const py of interpreters()) {
  describe(`the memory transport on ${py.label}, gdb hidden`, () => {
    let busy: Target;
    let sleeper: Target;
    before(async () => {
      // In a mount namespace of its own, as in a container.
      busy = await startTarget(py.path, ['busy_threads.py'], { privateTmp: true });
      sleeper = await startTarget(py.path, ['idle_sleeper.py'], { privateTmp: true });
    });
    after(async () => {
      await busy.kill();
      await sleeper.kill();
    });

    test('exec prints 42 in a busy multi-threaded target, through the queue', async () => {
      const r = await execJson(busy.pid, 'print(6*7)');
      assert.equal(r.stdout, '42\n');
      assert.equal(r.attach.transport, 'memory');
      assert.equal(r.attach.safe_point, 'queued-call');
      assert.ok(busy.alive());
      assert.equal(busy.stderr(), '', "nothing written to the target's stderr");
      assert.equal(tracerPid(busy.pid), 0);
      assert.deepEqual(agentDirs(busy.pid), []);
      assert.equal(queueOf(busy.pid).waiting, 0, 'the queue is empty again');
    });

    test('exec prints 42 in a target whose main loop sleeps 1 s', async () => {
      const r = await execJson(sleeper.pid, 'print(6*7)', ['--transport', 'memory']);
      assert.equal(r.stdout, '42\n');
      assert.equal(r.attach.transport, 'memory');
      assert.equal(sleeper.stderr(), '');
    });

    test("the bootstrap leaves no name in the program's __main__", async () => {
      const r = await execJson(sleeper.pid, "import __main__; print(sorted(k for k in vars(__main__) if 'memwhy' in k or k == 'f'))");
      assert.equal(r.stdout, '[]\n');
    });
  });

  describe(`an idle target on ${py.label}, gdb hidden`, () => {
    let idle: Target;
    before(async () => {
      idle = await startTarget(py.path, ['idle_deep_sleep.py'], { privateTmp: true });
    });
    after(() => idle.kill());

    test('memwhy says the target is idle in one line, takes its call back and leaves it running', async () => {
      const r = await memwhy(['exec', String(idle.pid), '-c', 'print(6*7)', '--timeout', '1s'], { env: noGdb });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /is idle: .* took its queued call back .*--timeout.* install gdb/);
      assert.doesNotMatch(processState(idle.pid), /^[Tt]/);
      assert.equal(tracerPid(idle.pid), 0);
      const q = queueOf(idle.pid);
      assert.equal(q.waiting, 0, 'no call of memwhy left queued');
      assert.equal(q.state, 'free');
      assert.deepEqual(agentDirs(idle.pid), []);
      assert.ok(idle.alive());
      assert.doesNotMatch(idle.stdout(), /woke/, 'the main thread was not woken');
      assert.equal(idle.stderr(), '');
    });
  });
}

/** The Python process under `root` (unshare, then sh): the first descendant running `python`. */
function pythonUnder(root: number): number | undefined {
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    try {
      if (/python/.test(readFileSync(`/proc/${pid}/comm`, 'utf8')) && pid !== root) return pid;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (kids) queue.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

const debian = interpreters().find((p) => p.label.startsWith('debian')) ?? interpreters()[interpreters().length - 1]!;

test('a target in a mount and pid namespace of its own is reached with gdb absent, as from a debug container', { skip: process.getuid?.() !== 0 && 'needs root to unshare' }, async () => {
  // As in a container: its own /tmp (a tmpfs), its own /proc, its own pids;
  // sh stays as the namespace's pid 1 so that Python is an ordinary process.
  const child = spawn(
    'unshare',
    [
      '-m',
      '-p',
      '-f',
      '--mount-proc',
      'sh',
      '-c',
      'mount -t tmpfs memwhy-test /tmp && printf "%s" "$MEMWHY_FIXTURE_SOURCE" > /tmp/fixture.py && "$0" -u /tmp/fixture.py; exit 0',
      debian.path,
    ],
    { env: { ...process.env, MEMWHY_FIXTURE_SOURCE: readFileSync(join(FIXTURES, 'busy_threads.py'), 'utf8') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let pid: number | undefined;
  try {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('ready'), 20_000, 'the contained target ready');
    pid = pythonUnder(child.pid!);
    assert.ok(pid, 'the Python process found under unshare');
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /NSpid:\s+\d+\s+\d+/, 'it has a pid of its own inside');
    const r = await execJson(pid, 'import os; print(6*7, os.getpid() != %d)'.replace('%d', String(pid)));
    assert.equal(r.stdout, '42 True\n');
    assert.equal(r.attach.transport, 'memory');
    assert.equal(tracerPid(pid), 0);
    assert.deepEqual(agentDirs(pid), []);
  } finally {
    // The namespace's init (sh) and Python, then unshare.
    for (const p of [pid, child.pid]) {
      try {
        if (p) process.kill(p, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
});
