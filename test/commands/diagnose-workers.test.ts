/**
 * `memwhy diagnose MASTER`: the workers' RSS is watched first, the worker
 * that grows fastest is diagnosed, and the master is never attached. The
 * choice itself (src/analyze/workers.ts) and its wording
 * (src/report/workers.ts) are tested on seeded watches; then real gunicorn
 * and uWSGI masters, where one worker of two leaks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { memwhy } from '../helpers/cli.js';
import { tracerPid } from '../helpers/procfs.js';
import { missingGunicorn, missingUwsgi, startGunicorn, startUwsgi, type Server } from '../fixtures/workers_servers.js';
import type { WatchedProcess, WorkersWatch } from '../../src/collect/workers.js';
import { chooseWorker } from '../../src/analyze/workers.js';
import { renderWorkersChoice, withWorkers, type WorkersReport } from '../../src/report/workers.js';
import type { Diagnosis } from '../../src/analyze/diagnosis.js';

const MiB = 1024 * 1024;

/** A process sampled every 0.5 s for 10 s, its RSS from `rss(t_s)`. */
function watched(pid: number, rss: (t: number) => number, opts: { role?: WatchedProcess['role']; exitAt?: number } = {}): WatchedProcess {
  const samples = [];
  for (let i = 0; i <= 20; i++) {
    const t = i / 2;
    if (opts.exitAt !== undefined && t >= opts.exitAt) break;
    samples.push({ t: 1_700_000_000_000 + t * 1000, rss: Math.round(rss(t)) });
  }
  return { pid, parent: opts.role === 'master' ? null : 100, role: opts.role ?? 'worker', cmdline: [], samples, exited: opts.exitAt !== undefined };
}

function watch(workers: WatchedProcess[], master = watched(100, () => 30 * MiB, { role: 'master' })): WorkersWatch {
  return { master, workers, helpers: [], window_s: 10, interval_s: 0.5 };
}

describe('which worker is diagnosed', () => {
  test('the worker that grows fastest is chosen, over a bigger one that does not grow', () => {
    const c = chooseWorker(watch([watched(101, () => 80 * MiB), watched(102, (t) => 25 * MiB + t * 200 * 1024), watched(103, (t) => 25 * MiB + t * 800 * 1024)]))!;
    assert.deepEqual([c.pid, c.reason, c.next], [103, 'fastest-growth', 102]);
    assert.deepEqual(
      c.workers.map((w) => w.pid),
      [103, 102, 101],
    );
    assert.ok(Math.abs(c.workers[0]!.slope_bytes_per_s! - 800 * 1024) < 1);
  });

  test('with no worker growing, the biggest is chosen and the line says none grew', () => {
    // Allocator noise: a 300 KiB wobble (src/analyze/verdict.ts) is not growth.
    const c = chooseWorker(watch([watched(101, (t) => 40 * MiB + (t > 5 ? 300 * 1024 : 0)), watched(102, () => 60 * MiB)]))!;
    assert.deepEqual([c.pid, c.reason], [102, 'biggest']);
    assert.equal(c.workers.find((w) => w.pid === 101)!.growing, false);
    assert.match(renderWorkersChoice(c), /diagnosing worker 102, the biggest \(60\.0 MiB\): no worker grew over 10\.0 s/);
  });

  test('a worker that exited during the window is never chosen, and all exited is no choice', () => {
    const c = chooseWorker(watch([watched(101, (t) => 20 * MiB + t * MiB, { exitAt: 6 }), watched(102, () => 20 * MiB)]))!;
    assert.deepEqual([c.pid, c.reason], [102, 'biggest']);
    assert.equal(chooseWorker(watch([watched(101, () => 20 * MiB, { exitAt: 3 })])), undefined);
  });

  test('a master that grows faster than any worker is said, and still not chosen', () => {
    const c = chooseWorker(
      watch(
        [watched(101, (t) => 20 * MiB + t * 200 * 1024)],
        watched(100, (t) => 30 * MiB + t * MiB, { role: 'master' }),
      ),
    )!;
    assert.equal(c.pid, 101);
    assert.equal(c.master_grows_faster, true);
    assert.match(renderWorkersChoice(c), /the master 100 is not attached, though it grows faster \(\+1\.0 MiB\/s\)/);
  });

  test('the table has one line per process, slopes in KiB/s, and the JSON member names the chosen worker', () => {
    const c = chooseWorker(watch([watched(101, () => 20 * MiB), watched(102, (t) => 20 * MiB + t * 512 * 1024)]))!;
    const lines = renderWorkersChoice(c).trimEnd().split('\n');
    assert.equal(lines.length, 5, lines.join('\n'));
    assert.match(lines[0]!, /PID\s+ROLE\s+RSS\s+SLOPE KiB\/s\s+R²/);
    assert.match(lines[1]!, /^\s+100\s+master \(not attached\)\s+30\.0 MiB\s+\+0\.0\s+1\.00$/);
    assert.match(lines[2]!, /^\s+102\s+worker\s+25\.0 MiB\s+\+512\.0\s+1\.00\s+diagnosed, grows$/);
    assert.match(lines[4]!, /^memwhy: diagnosing worker 102: it grows fastest, \+512\.0 KiB\/s over 10\.0 s \(r² 1\.00\); next 101 at \+0 B\/s/);
    const doc = withWorkers({ pid: 102 }, c, 10);
    assert.deepEqual([doc.pid, doc.workers.master, doc.workers.chosen, doc.workers.reason], [102, 100, 102, 'fastest-growth']);
    assert.deepEqual(
      doc.workers.processes.map((p) => [p.pid, p.chosen]),
      [
        [100, false],
        [102, true],
        [101, false],
      ],
    );
  });
});

type WorkersDiagnosis = Diagnosis & { workers?: WorkersReport };

/**
 * Runs `memwhy diagnose` on the server's master while watching the master:
 * its TracerPid must stay 0 and no memwhy lock file for it may appear.
 */
async function diagnoseMaster(server: Server, extra: string[] = []): Promise<{ d: WorkersDiagnosis; stderr: string; masterTraced: number[]; leakerSeen: boolean }> {
  const masterTraced: number[] = [];
  let leakerSeen = false;
  const lock = (pid: number): string => `/proc/${pid}/root/tmp/.memwhy-${pid}.lock`;
  const poll = setInterval(() => {
    try {
      const t = tracerPid(server.master);
      if (t !== 0) masterTraced.push(t);
      if (existsSync(lock(server.master))) masterTraced.push(-1);
      // The control: the same poll does see the worker being attached.
      if (tracerPid(server.leaker) !== 0 || existsSync(lock(server.leaker))) leakerSeen = true;
    } catch {
      // A process exiting is caught below.
    }
  }, 20);
  try {
    const r = await memwhy(['diagnose', String(server.master), '--duration', '6s', '--interval', '500ms', '--json', ...extra], {
      timeoutMs: 180_000,
    });
    assert.equal(r.code, 0, `${r.stderr}\n${server.output()}`);
    return { d: JSON.parse(r.stdout) as WorkersDiagnosis, stderr: r.stderr, masterTraced, leakerSeen };
  } finally {
    clearInterval(poll);
  }
}

async function checkLeakerChosen(server: Server): Promise<void> {
  const { d, stderr, masterTraced, leakerSeen } = await diagnoseMaster(server);
  assert.deepEqual(masterTraced, [], 'the master was never attached (TracerPid 0, no memwhy lock for it)');
  assert.ok(leakerSeen, 'the poll saw the worker attached (so it would have seen the master)');
  assert.equal(d.pid, server.leaker, `the leaking worker is diagnosed:\n${stderr}`);
  assert.ok(d.workers, 'the document has a workers member');
  assert.deepEqual([d.workers.master, d.workers.chosen, d.workers.reason], [server.master, server.leaker, 'fastest-growth']);
  const worker = (pid: number) => d.workers!.processes.find((p) => p.pid === pid);
  assert.equal(worker(server.leaker)?.role, 'worker');
  assert.equal(worker(server.leaker)?.parent, server.master);
  assert.equal(worker(server.leaker)?.growing, true);
  for (const idle of server.idle) assert.equal(worker(idle)?.growing, false, `idle worker ${idle}`);
  // Which cause is the verdict's business (test/commands/diagnose.test.ts); here, that it watched the growth.
  assert.ok(d.rss.end > d.rss.start && d.rss.slope > 256 * 1024, `the diagnosed process grew: ${d.rss.slope} B/s`);
  // The table on stderr: a line per process, then the choice.
  for (const pid of [server.master, server.leaker, ...server.idle]) assert.match(stderr, new RegExp(`^\\s+${pid}\\s+(master|worker)`, 'm'));
  assert.match(stderr, new RegExp(`^memwhy: diagnosing worker ${server.leaker}: it grows fastest`, 'm'));
  assert.equal(tracerPid(server.leaker), 0, 'the worker was let go');
  assert.equal(tracerPid(server.master), 0);
}

describe('diagnose MASTER diagnoses the leaking worker', () => {
  test('gunicorn, 2 sync workers, one leaking', { skip: missingGunicorn() }, async () => {
    const server = await startGunicorn();
    try {
      await checkLeakerChosen(server);
    } finally {
      await server.kill();
    }
  });

  test('uWSGI, 2 workers on an embedded libpython, one leaking', { skip: missingUwsgi() }, async () => {
    const server = await startUwsgi();
    try {
      await checkLeakerChosen(server);
    } finally {
      await server.kill();
    }
  });

  test('--no-workers diagnoses the master itself', { skip: missingGunicorn() }, async () => {
    const server = await startGunicorn();
    try {
      const r = await memwhy(['diagnose', String(server.master), '--duration', '2s', '--interval', '500ms', '--json', '--no-workers'], {
        timeoutMs: 180_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as WorkersDiagnosis;
      assert.equal(d.pid, server.master);
      assert.equal(d.workers, undefined);
      assert.doesNotMatch(r.stderr, /Python workers/);
    } finally {
      await server.kill();
    }
  });
});
