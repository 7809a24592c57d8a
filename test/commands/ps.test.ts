import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import { tempDir } from '../helpers/tempDir.js';
import { missingGunicorn, missingUwsgi, startGunicorn, startUwsgi, type Server } from '../fixtures/workers_servers.js';

interface PsJson {
  processes: {
    pid: number;
    parent: number | null;
    workers: number[];
    role: 'master' | 'worker' | 'helper' | null;
    user: string;
    implementation: string;
    version: string;
    rss: number;
    threads: number;
    uptime_s: number;
    cmdline: string[];
    exe: string;
    libpython: string | null;
  }[];
  unsupported?: { pid: number; reason: string }[];
}

// One sleeper per interpreter, all listed by one `memwhy ps --json`.
const targets = new Map<string, Target>();
let listed: PsJson;

before(async () => {
  for (const py of interpreters()) targets.set(py.label, await startTarget(py.path, ['idle_sleeper.py']));
  const r = await memwhy(['ps', '--json']);
  assert.equal(r.code, 0, r.stderr);
  listed = JSON.parse(r.stdout) as PsJson;
});

after(async () => {
  for (const t of targets.values()) await t.kill();
});

for (const py of interpreters()) {
  test(`memwhy ps --json lists a sleeping ${py.label} as CPython ${py.version}`, () => {
    const pid = targets.get(py.label)!.pid;
    const entry = listed.processes.find((p) => p.pid === pid);
    assert.ok(entry, `pid ${pid} in ${listed.processes.map((p) => p.pid).join(', ')}`);
    assert.equal(entry.implementation, 'CPython');
    assert.equal(entry.version, py.version);
    assert.ok(entry.rss > 0 && entry.threads >= 1 && entry.uptime_s >= 0 && entry.uptime_s < 120);
    assert.deepEqual(entry.cmdline.slice(1), ['-u', 'idle_sleeper.py']);
    assert.equal(typeof entry.user, 'string');
    assert.ok(entry.exe.startsWith('/'));
    assert.equal(entry.libpython === null, py.label.startsWith('debian'));
  });
}

test('memwhy ps prints a table with a row per sleeping python', async () => {
  const r = await memwhy(['ps']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^\s*PID\s+USER\s+VERSION\s+RSS\s+THREADS\s+UPTIME\s+COMMAND$/);
  for (const py of interpreters()) {
    const pid = targets.get(py.label)!.pid;
    const row = lines.find((l) => l.trimStart().startsWith(`${pid} `));
    assert.ok(row, `a row for ${pid}`);
    assert.match(row, new RegExp(`CPython ${py.version.replace(/\./g, '\\.')}\\s+[\\d.]+ [KMG]iB .*idle_sleeper\\.py$`));
  }
});

test('memwhy ps --all also says why a PyPy-named process cannot be examined', async () => {
  const dir = tempDir('memwhy-ps-pypy-');
  const fake = join(dir, 'pypy3');
  copyFileSync('/usr/bin/sleep', fake);
  const child: ChildProcess = spawn(fake, ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const plain = JSON.parse((await memwhy(['ps', '--json'])).stdout) as PsJson;
    assert.equal(plain.unsupported, undefined);
    assert.ok(!plain.processes.some((p) => p.pid === child.pid));
    const all = JSON.parse((await memwhy(['ps', '--all', '--json'])).stdout) as PsJson;
    assert.match(all.unsupported?.find((u) => u.pid === child.pid)?.reason ?? '', /runs PyPy/);
    const human = await memwhy(['ps', '--all']);
    assert.match(human.stdout, /Python processes memwhy cannot examine:/);
    assert.match(human.stdout, new RegExp(`${child.pid} .*runs PyPy`));
  } finally {
    child.kill('SIGKILL');
  }
});

/** ps --json and the table show the server's workers under its master. */
async function checkTree(server: Server): Promise<void> {
  const workers = [server.leaker, ...server.idle].sort((a, b) => a - b);
  const r = await memwhy(['ps', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const listed = JSON.parse(r.stdout) as PsJson;
  const entry = (pid: number) => listed.processes.find((p) => p.pid === pid);
  const master = entry(server.master);
  assert.ok(master, `the master ${server.master} is listed`);
  assert.deepEqual([master.role, master.parent, master.workers], ['master', null, workers]);
  for (const w of workers) {
    assert.deepEqual([entry(w)?.role, entry(w)?.parent, entry(w)?.workers], ['worker', server.master, []], `worker ${w}`);
  }
  // Tree order: the workers come right after their master.
  const at = listed.processes.findIndex((p) => p.pid === server.master);
  assert.deepEqual(
    listed.processes.slice(at + 1, at + 1 + workers.length).map((p) => p.pid),
    workers,
  );

  const human = await memwhy(['ps']);
  const lines = human.stdout.split('\n');
  const row = lines.findIndex((l) => l.startsWith(`${server.master} `));
  assert.ok(row > 0, `an unindented row for the master:\n${human.stdout}`);
  assert.deepEqual(
    lines.slice(row + 1, row + 1 + workers.length).map((l) => /^ {2}(\d+) /.exec(l)?.[1]),
    workers.map(String),
    `the workers indented under the master:\n${human.stdout}`,
  );
}

test("memwhy ps shows a gunicorn master's two sync workers under it", { skip: missingGunicorn() }, async () => {
  const server = await startGunicorn();
  try {
    await checkTree(server);
  } finally {
    await server.kill();
  }
});

test("memwhy ps shows a uWSGI master's two workers under it (uwsgi-core with an embedded libpython)", { skip: missingUwsgi() }, async () => {
  const server = await startUwsgi();
  try {
    await checkTree(server);
  } finally {
    await server.kill();
  }
});
