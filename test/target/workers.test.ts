/**
 * Masters and workers from recorded /proc text (test/fixtures/workers_proc_*.json,
 * made by workers_record_proc.py from a real gunicorn, uWSGI and
 * multiprocessing tree), then from live processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { FIXTURES } from '../helpers/target.js';
import { classifyImplementation } from '../../src/target/python.js';
import {
  descendantsOf,
  findPythonWorkers,
  helperKind,
  isWorker,
  nearestAncestor,
  nestPythons,
  parseProcessTable,
  pythonTreeUnder,
  titleRole,
  type ProcEntry,
} from '../../src/target/workers.js';

interface Recorded {
  root: number;
  processes: { pid: number; status: string; argv: string[]; exe: string; mapped: string[] }[];
}

function recorded(name: string): Recorded & { table: ProcEntry[]; pythons: { pid: number; argv: string[] }[] } {
  const r = JSON.parse(readFileSync(join(FIXTURES, `workers_proc_${name}.json`), 'utf8')) as Recorded;
  const table = parseProcessTable(r.processes);
  // python.ts's rule, on the recorded executable and mapped files.
  const pythons = r.processes.filter((p) => classifyImplementation(p.exe, p.mapped)?.implementation === 'CPython').map((p) => ({ pid: p.pid, argv: p.argv }));
  return { ...r, table, pythons };
}

test('the process table reads each parent pid from recorded status text', () => {
  const g = recorded('gunicorn');
  const [master, w1, w2] = g.processes.map((p) => p.pid);
  assert.deepEqual(
    g.table.slice(1).map((e) => e.ppid),
    [master, master],
  );
  assert.notEqual(g.table[0]!.ppid, 0);
  assert.ok(w1! < w2!);
});

test('a gunicorn master has its two sync workers under it', () => {
  const g = recorded('gunicorn');
  const [master, w1, w2] = g.processes.map((p) => p.pid) as [number, number, number];
  const tree = nestPythons(g.pythons, g.table);
  assert.deepEqual(
    tree.map((n) => [n.pid, n.parent, n.role, n.depth]),
    [
      [master, null, 'master', 0],
      [w1, master, 'worker', 1],
      [w2, master, 'worker', 1],
    ],
  );
  assert.deepEqual(tree[0]!.children, [w1, w2]);
  assert.deepEqual(
    pythonTreeUnder(master, g.pythons, g.table)
      .filter(isWorker)
      .map((n) => n.pid),
    [w1, w2],
  );
});

test("a uWSGI master's workers are Python through the libpython it embeds (the executable is uwsgi-core)", () => {
  const u = recorded('uwsgi');
  assert.ok(u.processes.every((p) => p.exe.endsWith('/uwsgi-core')));
  assert.equal(u.pythons.length, 3, 'master and both workers are CPython');
  const [master, w1, w2] = u.processes.map((p) => p.pid) as [number, number, number];
  const tree = nestPythons(u.pythons, u.table);
  assert.deepEqual(
    tree.map((n) => [n.pid, n.role]),
    [
      [master, 'master'],
      [w1, 'worker'],
      [w2, 'worker'],
    ],
  );
});

test("uWSGI's HTTP router is a helper, never a worker, when --auto-procname names it", () => {
  const u = recorded('uwsgi_procname');
  const byTitle = new Map(u.processes.map((p) => [p.argv.join(' '), p.pid]));
  const router = byTitle.get('uWSGI http 1')!;
  const tree = nestPythons(u.pythons, u.table);
  const router_ = tree.find((n) => n.pid === router)!;
  assert.equal(router_.role, 'helper');
  assert.equal(router_.helper, 'uWSGI http');
  const workers = pythonTreeUnder(u.root, u.pythons, u.table)
    .filter(isWorker)
    .map((n) => n.pid);
  assert.deepEqual(workers, [byTitle.get('uWSGI worker 1'), byTitle.get('uWSGI worker 2')]);
});

test("multiprocessing's resource tracker and fork server are helpers; the fork server's children are the pool's workers", () => {
  const m = recorded('multiprocessing');
  const [main, tracker, forkserver, w1, w2] = m.processes.map((p) => p.pid) as number[];
  const tree = nestPythons(m.pythons, m.table);
  const node = (pid: number) => tree.find((n) => n.pid === pid)!;
  assert.equal(node(main!).role, 'master');
  assert.equal(node(tracker!).helper, 'multiprocessing resource tracker');
  assert.equal(node(forkserver!).helper, 'multiprocessing forkserver');
  // Forked by the fork server without exec, they carry its argv, yet they are workers.
  assert.deepEqual(m.processes[3]!.argv, m.processes[2]!.argv);
  assert.deepEqual([node(w1!).role, node(w1!).parent, node(w1!).depth], ['worker', forkserver, 2]);
  assert.deepEqual(
    pythonTreeUnder(main!, m.pythons, m.table)
      .filter(isWorker)
      .map((n) => n.pid),
    [w1, w2],
  );
  // Tree order: each process followed by its subtree.
  assert.deepEqual(
    tree.map((n) => n.pid),
    [main, tracker, forkserver, w1, w2],
  );
});

test('a Python process under a shell under a Python process still nests under it', () => {
  const table: ProcEntry[] = [
    { pid: 10, ppid: 1 },
    { pid: 11, ppid: 10 },
    { pid: 12, ppid: 11 },
  ];
  const parents = new Map(table.map((e) => [e.pid, e.ppid]));
  assert.equal(nearestAncestor(12, new Set([10, 12]), parents), 10);
  assert.deepEqual(
    nestPythons(
      [
        { pid: 10, argv: ['python3', 'main.py'] },
        { pid: 12, argv: ['python3', 'w.py'] },
      ],
      table,
    ).map((n) => [n.pid, n.role]),
    [
      [10, 'master'],
      [12, 'worker'],
    ],
  );
});

test('under a Python supervisor, a gunicorn master is not a worker: its workers are', () => {
  const table: ProcEntry[] = [
    { pid: 100, ppid: 1 },
    { pid: 200, ppid: 100 },
    { pid: 201, ppid: 200 },
    { pid: 202, ppid: 200 },
    { pid: 300, ppid: 100 },
  ];
  const pythons = [100, 200, 201, 202, 300].map((pid) => ({ pid, argv: ['python3', String(pid)] }));
  const under = pythonTreeUnder(100, pythons, table);
  assert.deepEqual(
    under.map((n) => [n.pid, n.role]),
    [
      [200, 'master'],
      [201, 'worker'],
      [202, 'worker'],
      [300, 'worker'],
    ],
  );
  assert.deepEqual(
    under.filter(isWorker).map((n) => n.pid),
    [201, 202, 300],
  );
});

test('a Python process on its own has no role, and a table with a parent loop still ends', () => {
  assert.deepEqual(
    nestPythons([{ pid: 5, argv: ['python3'] }], [{ pid: 5, ppid: 1 }]).map((n) => n.role),
    [null],
  );
  const loop: ProcEntry[] = [
    { pid: 1, ppid: 2 },
    { pid: 2, ppid: 1 },
    { pid: 3, ppid: 3 },
  ];
  assert.deepEqual(descendantsOf(1, loop), [{ pid: 2, depth: 1 }]);
  assert.equal(nearestAncestor(1, new Set([7]), new Map(loop.map((e) => [e.pid, e.ppid]))), null);
  assert.deepEqual(
    nestPythons(
      [
        { pid: 1, argv: [] },
        { pid: 2, argv: [] },
      ],
      loop,
    )
      .map((n) => n.pid)
      .sort(),
    [1, 2],
    'each once',
  );
});

test('helpers and titled roles are read from argv', () => {
  assert.equal(helperKind(['python3', '-B', '-c', 'from multiprocessing.semaphore_tracker import main;main(5)']), 'multiprocessing semaphore tracker');
  assert.equal(helperKind(['python3', 'app.py', '-c', 'conf.py']), undefined);
  assert.equal(helperKind(['uWSGI fastrouter']), 'uWSGI fastrouter');
  assert.equal(helperKind(['uWSGI worker 3']), undefined);
  assert.equal(titleRole(['gunicorn: master [app:application]']), 'master');
  assert.equal(titleRole(['gunicorn: worker [app:application]']), 'worker');
  assert.equal(titleRole(['uWSGI worker 1']), 'worker');
  assert.equal(titleRole(['/usr/bin/python3', '/usr/bin/gunicorn']), undefined);
});

test('findPythonWorkers finds the live pool workers of a multiprocessing program, not its helpers', async () => {
  const child = spawn('/usr/bin/python3', ['-u', 'workers_multiprocessing_pool.py'], {
    cwd: FIXTURES,
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group, so the fork server and the pool go with it.
    detached: true,
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^ready workers (.*)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`exited before ready: ${out}`)));
      setTimeout(() => reject(new Error('no "ready" in 30 s')), 30_000);
    });
    const expected = line
      .split(' ')
      .map(Number)
      .sort((a, b) => a - b);
    const survey = findPythonWorkers(child.pid!);
    assert.deepEqual(
      survey.workers.map((w) => w.target.pid),
      expected,
    );
    assert.equal(survey.helpers.length, 2, 'resource tracker and fork server');
    assert.ok(survey.workers.every((w) => w.target.version.major === 3));
    assert.deepEqual(findPythonWorkers(expected[0]!).workers, [], 'a worker has no workers');
  } finally {
    process.kill(-child.pid!, 'SIGKILL');
  }
});
