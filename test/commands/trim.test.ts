/**
 * `memwhy malloc` then `memwhy trim` on every CPython on the machine, on a
 * small fragmented workload: the numbers are sane everywhere, and the agent
 * leaves no fd behind, writes nothing to the target's stderr and does not
 * import ctypes there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { MallocBreakdown, TrimSummary } from '../../src/analyze/malloc.js';
import { memwhy, ROOT } from '../helpers/cli.js';
import { fdCount } from '../helpers/procfs.js';
import { interpreters } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';

const MiB = 1024 * 1024;
// bin/memwhy rebuilds dist/ first when a source is newer: slow on a loaded machine.
const TIMEOUT_MS = 180_000;
const FRAGMENT = join(ROOT, 'workloads', 'fragment.py');

for (const py of interpreters()) {
  describe(`malloc and trim on ${py.label} (${py.version})`, () => {
    let target: Target;
    before(async () => {
      target = await startTarget(py.path, [FRAGMENT, '--hold', '--threads', '2', '--rounds', '4', '--buffers', '4000', '--seconds', '0.2'], {
        readyTimeoutMs: 60_000,
      });
    });
    after(() => target.kill());

    test('gives sane numbers and leaves nothing behind', async () => {
      const fds = fdCount(target.pid);
      const m = await memwhy(['malloc', String(target.pid), '--json'], { timeoutMs: TIMEOUT_MS });
      assert.equal(m.code, 0, m.stderr);
      const b = JSON.parse(m.stdout) as MallocBreakdown;
      assert.equal(b.python_version, py.version);
      assert.equal(b.allocator.name, 'glibc');
      assert.ok(b.rss > 4 * MiB && b.anon > 0 && b.anon <= b.rss);
      assert.ok(b.allocator.in_use! > 0 && b.allocator.in_use! < b.rss, `in use ${b.allocator.in_use} < rss ${b.rss}`);
      assert.ok(b.allocator.free! >= 0 && b.allocator.free_resident! <= b.allocator.free!);
      assert.ok(b.allocator.arenas! >= 2, "the main arena and at least a worker's");
      assert.ok(b.stacks.threads >= 2, `thread stacks found: ${b.stacks.threads}`);
      if (py.major === 2) {
        assert.equal(b.python.live, null);
        assert.match(b.python.unknown!, /no sys\._debugmallocstats/);
      } else {
        assert.ok(b.python.live! > 100_000 && b.python.live! <= b.python.arena_bytes!, `pymalloc live ${b.python.live}`);
        assert.equal(b.python.arena_size, py.minor >= 10 ? MiB : 256 * 1024);
      }
      assert.ok(b.pause_ms >= 0 && b.pause_ms < 5000);

      const r = await memwhy(['trim', String(target.pid), '--json', '--gc'], { timeoutMs: TIMEOUT_MS });
      assert.equal(r.code, 0, r.stderr);
      const t = JSON.parse(r.stdout) as TrimSummary;
      assert.equal(t.call, 'malloc_trim(0)');
      assert.ok(t.gc !== null && t.gc.collected >= 0);
      assert.ok(t.pause_ms! >= 0 && t.pause_ms! < 10_000);
      assert.ok(t.rss_after > 0 && t.released <= t.rss_before);
      assert.ok(t.released > -2 * MiB, `RSS did not grow much: ${t.released}`);
      process.stderr.write(
        `# ${py.label}: rss ${(b.rss / MiB).toFixed(1)} MiB, glibc in use ${(b.allocator.in_use! / MiB).toFixed(1)} MiB, ` +
          `free ${(b.allocator.free! / MiB).toFixed(1)} MiB, pymalloc live ${b.python.live === null ? 'unknown' : `${(b.python.live / MiB).toFixed(1)} MiB`}; ` +
          `trim released ${(t.released / MiB).toFixed(1)} MiB in ${t.pause_ms!.toFixed(1)} ms\n`,
      );
      // The probe calls C through _ctypes alone (src/agent/cabi.py): ctypes
      // itself would stay in the target, 250-340 kB of it.
      const mods = await memwhy(['exec', String(target.pid), '-c', 'import sys; print("ctypes" in sys.modules)'], { timeoutMs: TIMEOUT_MS });
      assert.equal(mods.code, 0, mods.stderr);
      assert.equal(mods.stdout, 'False\n', 'ctypes is not imported in the target');
      assert.ok(target.alive());
      assert.equal(target.stderr(), '', "nothing written to the target's stderr");
      assert.equal(fdCount(target.pid), fds, 'no fd left behind');
    });
  });
}
