/**
 * A census or dump in a forked child of a target whose other thread waits
 * for the GIL: the child inherits that thread's drop request unless memwhy's
 * fork clears it (src/agent/fork.py), and without that it deadlocked and the
 * walk fell back into the target (measured: 9 M objects and one busy thread,
 * 2 of 2 dumps). The fixture makes a request likely: a switch interval of one
 * microsecond. Forked without clearing it (MEMWHY_FORK_RESET=off), 6 of 8
 * censuses of this fixture fell back (with fork.py's one retry); not a test,
 * since whether the waiting thread gets its request in before the fork
 * write-protects its memory is timing (the code that clears is tested
 * directly in test/agent/fork.test.ts).
 */
import { test, describe, before } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import type { SnapshotInfo } from '../../src/collect/census.js';

before(async () => {
  await memwhy(['--version'], { timeoutMs: 180_000 });
});

async function census(pid: number, env: NodeJS.ProcessEnv = {}): Promise<SnapshotInfo | undefined> {
  const r = await memwhy(['heap', String(pid), '--json', '--top', '3'], { timeoutMs: 120_000, env });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { snapshot?: SnapshotInfo }).snapshot;
}

describe('a forked walk beside a thread waiting for the GIL', () => {
  for (const py of interpreters()) {
    test(`runs in the child, three times of three (${py.label})`, async (t) => {
      const target = await startTarget(py.path, ['busy_heap_waiting_thread.py', '200000']);
      try {
        for (let i = 0; i < 3; i++) {
          const snapshot = await census(target.pid);
          t.diagnostic(`${py.label} census ${i + 1}: ${JSON.stringify(snapshot)}`);
          assert.equal(snapshot?.forked, true, `census ${i + 1} fell back into the target: ${snapshot?.why}`);
          // 2.7's GIL takes no drop requests: nothing to clear, forked as before.
          assert.equal(snapshot?.breaker_cleared, py.version.startsWith('2.') ? false : true);
        }
        assert.ok(target.alive());
        assert.equal(target.stderr(), '');
      } finally {
        await target.kill();
      }
    });
  }
});

const debian = interpreters().find((p) => p.label.startsWith('debian')) ?? interpreters()[interpreters().length - 1]!;
/** Whether this kernel lets a process refuse executable memory for good (Linux 6.3+). */
const mdwe = spawnSync(debian.path, ['-c', 'import ctypes, sys; sys.exit(ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0)']).status === 0;

test(`a target that may never make memory executable still forks, without the clearing (${debian.label})`, { skip: !mdwe && 'the kernel has no PR_SET_MDWE (Linux 6.3+)' }, async () => {
  const target = await startTarget(debian.path, ['refuse_exec_gain.py', '200000']);
  try {
    const snapshot = await census(target.pid);
    assert.equal(snapshot?.forked, true, `fell back into the target: ${snapshot?.why}`);
    assert.equal(snapshot?.breaker_cleared, false);
    assert.ok(target.alive());
    assert.equal(target.stderr(), '');
  } finally {
    await target.kill();
  }
});
