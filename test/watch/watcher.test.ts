import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { growthOf, shortCommand, Watcher, type WatchSettings } from '../../src/watch/watcher.js';
import { watchMetrics } from '../../src/watch/metrics.js';
import { findStatics } from '../../src/collect/gcMemory.js';
import { staticGcLayoutFor } from '../../src/cpython/gcLayouts.js';
import { describePython } from '../../src/target/python.js';
import { ElfFile } from '../../src/target/elf.js';

function hasSymbols(path: string, check: (elf: ElfFile) => boolean): boolean {
  const elf = ElfFile.open(path);
  try {
    return check(elf);
  } finally {
    elf.close();
  }
}

function settings(pids: number[]): WatchSettings {
  return { filter: { pids: new Set(pids) }, windowS: 60, smapsIntervalS: 0, gc: true };
}

test('the short command names the program and its script, not the whole argv', () => {
  assert.equal(shortCommand(['/usr/bin/python3', '-u', 'app.py', '--port', '80']), 'python3 -u app.py');
  assert.equal(shortCommand(['/usr/bin/python3', '-m', 'http.server', '8000']), 'python3 -m http.server');
  assert.equal(shortCommand(['gunicorn: worker [app:app]']), 'gunicorn: worker [app:app]');
  assert.equal(shortCommand([]), '');
  assert.equal(shortCommand(['python3', 'x'.repeat(200)]).length, 80);
});

test('the RSS growth is absent below three readings, then the least-squares slope and r²', () => {
  assert.equal(
    growthOf([
      { t_s: 0, v: 1 },
      { t_s: 1, v: 2 },
    ]),
    undefined,
  );
  const g = growthOf([
    { t_s: 10, v: 100 },
    { t_s: 11, v: 300 },
    { t_s: 12, v: 500 },
  ]);
  assert.deepEqual(g, { bytesPerSecond: 200, r2: 1, windowS: 2, points: 3 });
});

for (const py of interpreters()) {
  test(`watch describes a ${py.label} process with its version, /proc figures and collector counters (2.7 and 3.6 when not stripped)`, async () => {
    const target = await startTarget(py.path, ['gc_settings_then_sleep.py']);
    const watcher = new Watcher(settings([target.pid]));
    try {
      watcher.sample();
      const [snap] = watcher.snapshot();
      assert.ok(snap, 'the process is watched');
      assert.equal(snap.identity.pid, target.pid);
      assert.equal(snap.identity.pythonVersion.split('.').slice(0, 2).join('.'), `${py.major}.${py.minor}`);
      assert.match(snap.identity.command, /gc_settings_then_sleep\.py$/);
      assert.ok(snap.figures.rss > 1 << 20 && snap.figures.anon > 0 && snap.figures.anon <= snap.figures.rss);
      assert.equal(snap.figures.threads, 1);
      assert.ok(snap.figures.openFds >= 3, 'stdin, stdout and stderr at least');
      assert.ok(snap.smaps && snap.smaps.uss > 0 && snap.smaps.pss >= snap.smaps.uss / 2);
      const statics = staticGcLayoutFor(py);
      const series = (name: string): number =>
        watchMetrics([snap], { cpuSeconds: 0, residentBytes: 0, lastSampleSeconds: 0, readErrors: watcher.readErrors }, []).find((f) => f.name === name)?.samples.length ?? 0;
      if (!statics || hasSymbols(describePython(target.pid).interpreterElf, (elf) => findStatics(elf, statics) !== undefined)) {
        assert.deepEqual(
          snap.gc?.generations.map((g) => g.threshold),
          [123, 7, 5],
        );
        assert.equal(snap.gc?.enabled, false);
        assert.equal(snap.gc?.garbage, 3);
        assert.equal(series('memwhy_python_gc_threshold'), 3);
        // 2.7 keeps no per-generation statistics (no gc.get_stats()): no series rather than zeros.
        assert.equal(series('memwhy_python_gc_collections_total'), py.major === 2 ? 0 : 3);
      } else {
        assert.equal(snap.gc, undefined, 'a stripped 2.7/3.6: no collector figures');
        assert.equal(series('memwhy_python_gc_threshold'), 0);
      }
    } finally {
      watcher.close();
      await target.kill();
    }
  });
}

test('a growing process shows a steep, steady slope and an idle one a flat slope; a killed one leaves at once', async () => {
  const py = interpreters().at(-1)!;
  // 1 MiB every 50 ms: 20 MiB/s, far above any jitter of an idle interpreter.
  const leaker = await startTarget(py.path, ['grow_steadily.py', '1', '50', '400']);
  const idle = await startTarget(py.path, ['idle_deep_sleep.py']);
  const watcher = new Watcher(settings([leaker.pid, idle.pid]));
  try {
    for (let i = 0; i < 6; i++) {
      watcher.sample();
      await sleep(400);
    }
    const byPid = new Map(watcher.snapshot().map((s) => [s.identity.pid, s]));
    const leak = byPid.get(leaker.pid)?.growth;
    const flat = byPid.get(idle.pid)?.growth;
    assert.ok(leak && flat, 'both have a growth figure after 6 readings');
    assert.ok(leak.bytesPerSecond > 5 * 2 ** 20, `leaker grows ${leak.bytesPerSecond} B/s`);
    assert.ok(leak.r2 > 0.8, `leaker r² ${leak.r2}`);
    assert.ok(Math.abs(flat.bytesPerSecond) < 2 ** 20, `idle process moves ${flat.bytesPerSecond} B/s`);
    assert.equal(leak.points, 6);
    await leaker.kill();
    assert.deepEqual(
      watcher.snapshot().map((s) => s.identity.pid),
      [idle.pid],
      'gone from the snapshot before the next sample',
    );
    watcher.sample();
    assert.deepEqual(watcher.rssSeries(leaker.pid, 0), []);
  } finally {
    watcher.close();
    await leaker.kill();
    await idle.kill();
  }
});
