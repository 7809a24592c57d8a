/**
 * After a command that ran the agent, the target has the threads it had,
 * as the kernel counts them (/proc/PID/task) and as Python does (its thread
 * states, read by `memwhy stacks` without attaching), at the moment memwhy
 * returns: also when the target is idle right after, and in a uWSGI worker,
 * an embedded interpreter that holds the GIL while it waits for requests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES, startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import { threadCount } from '../helpers/procfs.js';

/** The Python thread states of pid, read from its memory (no attach). */
async function pythonThreads(pid: number): Promise<Array<number | null>> {
  const r = await memwhy(['stacks', String(pid), '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { threads: Array<{ tid: number | null }> }).threads.map((t) => t.tid);
}

for (const py of interpreters()) {
  describe(`no agent thread left on ${py.label}`, () => {
    test('an idle target has its threads back when exec returns', async () => {
      // 'event': 2.7 is reached through Event.wait's polling (it is not woken with EINTR).
      const target = await startTarget(py.path, ['idle_deep_sleep.py', 'event'], { privateTmp: true });
      try {
        const tasks = threadCount(target.pid);
        const threads = await pythonThreads(target.pid);
        for (let i = 0; i < 2; i++) {
          const r = await memwhy(['exec', String(target.pid), '-c', 'print(6*7)']);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stderr, '', 'no warning that the agent outlived the session');
          assert.equal(threadCount(target.pid), tasks, 'tasks in /proc/PID/task');
          assert.deepEqual(await pythonThreads(target.pid), threads, 'Python thread states');
        }
        const seen = await memwhy(['exec', String(target.pid), '-c', 'import threading; print(len(threading.enumerate()))']);
        assert.equal(seen.code, 0, seen.stderr);
        assert.equal(seen.stdout.trim(), '2', "threading.enumerate() lists the program's two threads only");
      } finally {
        await target.kill();
      }
    });
  });
}

const UWSGI = '/usr/bin/uwsgi-core';
const PLUGIN = '/usr/lib/uwsgi/plugins/python311_plugin.so';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function get(port: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
}

describe('a uWSGI worker (debian python3)', () => {
  const skip = !existsSync(UWSGI) || !existsSync(PLUGIN) ? `uwsgi-core or its python311 plugin is not installed (apt-get install uwsgi-core uwsgi-plugin-python3)` : false;
  test('goes back to its one thread when memwhy returns, and stacks names it by its own pid', { skip }, async () => {
    const port = await freePort();
    const master = spawn(UWSGI, ['--plugin', 'python311', '--http-socket', `127.0.0.1:${port}`, '--wsgi-file', join(FIXTURES, 'wsgi_hello_app.py'), '--master', '--processes', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    master.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      let worker = 0;
      for (let i = 0; i < 200 && !worker; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const m = /spawned uWSGI worker 1 \(pid: (\d+)/.exec(log);
        if (m) worker = Number(m[1]);
      }
      assert.ok(worker, `uWSGI started a worker: ${log}`);
      await get(port);
      // The worker reaches a safe point, and the agent gets the GIL, only
      // while it runs Python for a request: keep requests coming until
      // memwhy returns, then none.
      for (let round = 0; round < 3; round++) {
        let traffic = true;
        const load = (async () => {
          while (traffic) {
            await get(port);
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        const r = await memwhy(['exec', String(worker), '-c', 'print(6*7)']);
        traffic = false;
        await load;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, '42\n');
        assert.equal(threadCount(worker), 1, 'the worker has its one thread back when memwhy returns');
        await new Promise((r2) => setTimeout(r2, 1000));
        assert.equal(threadCount(worker), 1, 'and a second later, idle');
        assert.deepEqual(await pythonThreads(worker), [worker], "one Python thread, named by the worker's pid (not the master's)");
      }
      const text = await memwhy(['stacks', String(worker)]);
      assert.match(text.stdout, new RegExp(`^Thread ${worker}\\b`, 'm'));
      assert.doesNotMatch(readFileSync(`/proc/${worker}/status`, 'utf8'), /TracerPid:\s+[1-9]/);
    } finally {
      master.kill('SIGINT');
      await new Promise((r) => master.once('exit', r));
    }
  });
});
