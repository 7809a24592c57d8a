/**
 * The snapshot child copies the pages it walks: fork.py forks only when the
 * target's memory cgroup (v2 memory.max, or v1 memory.limit_in_bytes on a
 * v1 or hybrid host such as this one) and the machine leave room for what
 * the call needs, a census about the target's anonymous memory, a heap dump
 * half as much again. The target runs in a memory cgroup of its own made
 * here, with a limit between the two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import { tempDir } from '../helpers/tempDir.js';
import { parseCgroup } from '../../src/target/cgroup.js';
import type { SnapshotInfo } from '../../src/collect/census.js';

/** A new memory cgroup under this process's own, v1 or v2, or why one cannot be made here. */
function makeMemoryCgroup(): { dir: string; limitFile: string; usageFile: string } | string {
  if (process.getuid?.() !== 0) return 'needs root to make a cgroup';
  const place = parseCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  const mount = place.version === 1 ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup';
  const [limitFile, usageFile] = place.version === 1 ? ['memory.limit_in_bytes', 'memory.usage_in_bytes'] : ['memory.max', 'memory.current'];
  const parent = existsSync(join(mount, place.path)) ? join(mount, place.path) : mount;
  const dir = join(parent, `memwhy-test-${process.pid}`);
  try {
    mkdirSync(dir);
  } catch (err) {
    return `cannot make a memory cgroup under ${parent}: ${(err as Error).message}`;
  }
  if (!existsSync(join(dir, limitFile))) {
    rmdirSync(dir);
    return `the memory controller is not enabled for ${parent}'s children`;
  }
  return { dir, limitFile, usageFile };
}

const python = interpreters().find((p) => p.label.startsWith('debian')) ?? interpreters()[interpreters().length - 1]!;
const cgroup = makeMemoryCgroup();

test(
  `in a cgroup with room for a census child but not a dump's, the census forks and the dump walks in the target, saying why (${python.label})`,
  { skip: typeof cgroup === 'string' && cgroup },
  async (t) => {
    const { dir, limitFile, usageFile } = cgroup as Exclude<typeof cgroup, string>;
    // The target starts inside the cgroup, so its heap is charged there.
    const target = await startTarget('sh', ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec ${python.path} -u hold_many_objects.py 200000`], { readyTimeoutMs: 60_000 });
    try {
      const anon = Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${target.pid}/status`, 'utf8'))![1]) * 1024;
      const usage = Number(readFileSync(join(dir, usageFile), 'utf8'));
      // Room for 1.3 x the heap plus fork.py's 64 MiB margin: a census needs 1.1 x, a dump 1.5 x.
      const limit = usage + Math.round(1.3 * anon) + (64 << 20);
      writeFileSync(join(dir, limitFile), String(limit));
      t.diagnostic(`target RssAnon ${anon >> 20} MiB, cgroup usage ${usage >> 20} MiB, limit ${limit >> 20} MiB`);

      const heap = await memwhy(['heap', String(target.pid), '--json', '--top', '3'], { timeoutMs: 120_000 });
      assert.equal(heap.code, 0, heap.stderr);
      const census = (JSON.parse(heap.stdout) as { snapshot?: SnapshotInfo }).snapshot;
      assert.equal(census?.forked, true, `the census did not fork: ${census?.why}`);

      const file = join(tempDir('memwhy-forkroom-'), 'heap.mwd');
      const dumped = await memwhy(['dump', String(target.pid), '-o', file, '--json'], { timeoutMs: 300_000 });
      assert.equal(dumped.code, 0, dumped.stderr);
      const dump = (JSON.parse(dumped.stdout) as { snapshot?: SnapshotInfo }).snapshot;
      assert.equal(dump?.forked, false);
      assert.match(dump?.why ?? '', /a copy-on-write snapshot could need \d+ MiB and its cgroup has \d+ MiB left/);
      assert.ok(target.alive());
    } finally {
      await target.kill();
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          rmdirSync(dir);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  },
);
