import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import { assertLeftRunning, assertOneLine } from '../helpers/expect.js';
import { tempDir } from '../helpers/tempDir.js';
import { sampleValue, startWatch } from '../helpers/watch.js';

test('watch refuses a bad --listen, --match, --pid or --interval in one line', async () => {
  assertOneLine(await memwhy(['watch', '--listen', 'nowhere']), /--listen takes host:port/);
  assertOneLine(await memwhy(['watch', '--listen', '127.0.0.1:70000']), /--listen takes host:port/);
  assertOneLine(await memwhy(['watch', '--match', '(']), /--match: not a regular expression/);
  assertOneLine(await memwhy(['watch', '--pid', '12,abc']), /"abc" is not a pid/);
  assertOneLine(await memwhy(['watch', '--interval', '0s']), /--interval must be more than 0/);
  assertOneLine(await memwhy(['watch', '--json']), /has no --json/);
});

test('watch says in one line that the port is taken', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    assertOneLine(await memwhy(['watch', '--listen', `127.0.0.1:${port}`]), /address is in use/);
  } finally {
    blocker.close();
  }
});

test('watch --once prints the exposition of the pids asked for, labelled with version and command', async () => {
  const py = interpreters().at(-1)!;
  const target = await startTarget(py.path, ['gc_settings_then_sleep.py']);
  try {
    const r = await memwhy(['watch', '--once', '--pid', String(target.pid)]);
    assert.equal(r.code, 0, r.stderr);
    const labels = { pid: String(target.pid), python_version: py.version };
    assert.ok(sampleValue(r.stdout, 'memwhy_process_resident_memory_bytes', labels)! > 1 << 20);
    assert.equal(sampleValue(r.stdout, 'memwhy_python_gc_threshold', { ...labels, generation: '0' }), 123);
    assert.equal(sampleValue(r.stdout, 'memwhy_python_gc_enabled', labels), 0);
    assert.equal(sampleValue(r.stdout, 'memwhy_python_gc_garbage_objects', labels), 3);
    assert.equal(sampleValue(r.stdout, 'memwhy_watch_processes', {}), 1);
    assert.match(r.stdout, /^# TYPE memwhy_python_gc_collections_total counter$/m);
    const arenas = sampleValue(r.stdout, 'memwhy_python_pymalloc_arenas', labels)!;
    assert.ok(arenas >= 1, `pymalloc arenas ${arenas}`);
    assert.equal(sampleValue(r.stdout, 'memwhy_python_pymalloc_arena_bytes', labels), arenas * 1024 * 1024);
    assert.match(r.stdout, /^# TYPE memwhy_python_pymalloc_arenas_allocated_total counter$/m);
  } finally {
    await target.kill();
  }
});

test('the listener serves /metrics read-only, and a process that exits leaves no series', async () => {
  const py = interpreters()[0]!;
  const target = await startTarget(py.path, ['idle_deep_sleep.py']);
  const watch = await startWatch(['--pid', String(target.pid), '--interval', '300ms']);
  try {
    const res = await watch.get('/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    assert.ok(sampleValue(text, 'memwhy_process_threads', { pid: String(target.pid) }) === 2, text.slice(0, 2000));
    assert.equal((await watch.get('/metrics', { method: 'POST' })).status, 405);
    assert.equal((await watch.get('/reports/..%2F..%2Fetc/passwd')).status, 404);
    assert.equal((await watch.get('/reports/x/../../../etc/passwd')).status, 404);
    assert.equal((await watch.get('/attach?pid=1')).status, 404);
    await target.kill();
    const after = await (await watch.get('/metrics')).text();
    assert.doesNotMatch(after, new RegExp(`pid="${target.pid}"`), 'no series for the exited process at the next scrape');
    assert.equal(sampleValue(after, 'memwhy_watch_processes', {}), 0);
    assert.equal(await watch.stop(), 0);
  } finally {
    await watch.stop();
    await target.kill();
  }
});

test('watch follows processes that start after it, found by --match', async () => {
  const py = interpreters()[0]!;
  const tag = `memwhy-watch-match-${process.pid}`;
  const watch = await startWatch(['--match', tag, '--interval', '300ms']);
  const target = await startTarget(py.path, ['idle_deep_sleep.py', 'sleep', tag]);
  try {
    let text = '';
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      text = await (await watch.get('/metrics')).text();
      if (text.includes(`pid="${target.pid}"`)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(text, new RegExp(`memwhy_process_resident_memory_bytes\\{pid="${target.pid}"`));
    assert.equal(sampleValue(text, 'memwhy_watch_processes', {}), 1);
  } finally {
    await target.kill();
    await watch.stop();
  }
});

test('watch refuses --diagnose-when rules it cannot read, and rules without --out, in one line', async () => {
  assertOneLine(await memwhy(['watch', '--diagnose-when', 'growth>1MiB/s', '--out', '/tmp/x']), /is not a rule/);
  assertOneLine(await memwhy(['watch', '--diagnose-when', 'cgroup>120%', '--out', '/tmp/x']), /is not a rule/);
  assertOneLine(await memwhy(['watch', '--diagnose-when', 'cgroup>80%']), /needs --out DIR/);
});

test('--diagnose-when diagnoses the growing process only, keeps its report and serves it read-only', async () => {
  const py = interpreters().find((p) => p.label.startsWith('debian')) ?? interpreters().at(-1)!;
  const out = tempDir('memwhy-watch-out-');
  // A private /tmp each, so what memwhy leaves there is told apart from other tests' files.
  // 1 MiB every 100 ms: 10 MiB/s for 150 s, against a rule of 2 MiB/s held for 3 s.
  const leaker = await startTarget(py.path, ['grow_steadily.py', '1', '100', '1500'], { privateTmp: true });
  const steady = await startTarget(py.path, ['idle_deep_sleep.py'], { privateTmp: true });
  const watch = await startWatch([
    '--pid',
    `${leaker.pid},${steady.pid}`,
    '--interval',
    '500ms',
    '--diagnose-when',
    'growth>2MiB/s for 3s',
    '--diagnose-duration',
    '4s',
    '--diagnose-gap',
    '0s',
    '--out',
    out,
  ]);
  try {
    let text = '';
    const deadline = Date.now() + 150_000;
    while (Date.now() < deadline) {
      text = await (await watch.get('/metrics')).text();
      if (text.includes('memwhy_diagnosis_info{')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const info = text.split('\n').filter((l) => l.startsWith('memwhy_diagnosis_info{'));
    const growth = text.split('\n').filter((l) => l.startsWith('memwhy_process_resident_memory_growth'));
    assert.equal(info.length, 1, `one diagnosis; log:\n${watch.stderr()}\n${growth.join('\n')}`);
    assert.match(info[0]!, new RegExp(`pid="${leaker.pid}"`));
    assert.match(info[0]!, /trigger="growth"/);
    // The verdict itself is diagnose's business (and a slow start under load may catch the fixture's plateau): one was given.
    assert.match(info[0]!, /cause="(python-objects|uncollectable|cyclic-garbage|native|allocator-retention|thread-leak|no-growth)"/);
    const report = /report="([^"]+)"/.exec(info[0]!)![1]!;
    const html = await watch.get(`/reports/${report}/report.html`);
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<html/i);
    assert.equal((await watch.get(`/reports/${report}/evidence.json`)).status, 200);
    const profile = await watch.get(`/reports/${report}/profile.pb.gz`);
    assert.equal(profile.status, 200, 'the traced allocation sites are kept as pprof');
    assert.deepEqual([...new Uint8Array(await profile.arrayBuffer()).subarray(0, 2)], [0x1f, 0x8b], 'gzip');
    assert.match(await (await watch.get('/reports/')).text(), new RegExp(report));
    assert.match(watch.stderr(), new RegExp(`pid ${leaker.pid} .*diagnosing for 4 s`));
    assert.match(watch.stderr(), new RegExp(`pid ${leaker.pid}: diagnosis: `));
    assert.doesNotMatch(watch.stderr(), new RegExp(`pid ${steady.pid}`));
    assertLeftRunning(leaker);
    assertLeftRunning(steady);
  } finally {
    await watch.stop();
    await leaker.kill();
    await steady.kill();
  }
});
