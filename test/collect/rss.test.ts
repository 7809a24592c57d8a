import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { sampleMemory, watchMemory, type MemorySample } from '../../src/collect/rss.js';
import { parseSmapsTotals, TargetExitedError } from '../../src/target/proc.js';
import { parseStatus } from '../../src/target/proc.js';
import { startTarget, type Target } from '../helpers/target.js';

const PYTHON = '/usr/bin/python3';
/** A pid above the kernel's largest pid_max (2^22), so never a live process. */
const NO_SUCH_PID = 99_999_999;

/** A process that has finished exiting: spawned, then reaped. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('smaps parsers on this machine /proc', () => {
  // grow_steadily.py with a 0 MiB cap holds still, so its files agree with each other.
  let idle: Target;
  before(async () => {
    idle = await startTarget(PYTHON, ['grow_steadily.py', '2', '100', '0']);
  });
  after(() => idle.kill());

  test('smaps_rollup of our own process parses into sizes in bytes', () => {
    const totals = parseSmapsTotals(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    assert.ok(totals.rss > 0);
    assert.equal(totals.rss % 1024, 0, 'kB were turned into bytes');
    assert.ok(totals.pss > 0 && totals.pss <= totals.rss);
    assert.ok(totals.privateClean + totals.privateDirty <= totals.rss);
    assert.ok(totals.swap >= 0 && totals.swapPss >= 0);
  });

  test('summing every mapping of smaps gives what smaps_rollup gives', () => {
    const rollup = parseSmapsTotals(readFileSync(`/proc/${idle.pid}/smaps_rollup`, 'utf8'));
    const smapsText = readFileSync(`/proc/${idle.pid}/smaps`, 'utf8');
    const summed = parseSmapsTotals(smapsText);
    assert.equal(summed.rss, rollup.rss);
    assert.equal(summed.privateClean, rollup.privateClean);
    assert.equal(summed.privateDirty, rollup.privateDirty);
    assert.equal(summed.swap, rollup.swap);
    // smaps rounds Pss down to a kB per mapping; the rollup rounds once.
    const mappings = smapsText.split('\n').filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l)).length;
    assert.ok(Math.abs(summed.pss - rollup.pss) <= mappings * 1024, `${summed.pss} vs ${rollup.pss}`);
  });

  test('smaps_rollup Rss of an idle process matches VmRSS in status', () => {
    const rollup = parseSmapsTotals(readFileSync(`/proc/${idle.pid}/smaps_rollup`, 'utf8'));
    const status = parseStatus(readFileSync(`/proc/${idle.pid}/status`, 'utf8'));
    assert.ok(Math.abs(rollup.rss - status.vmRss) <= status.vmRss * 0.05, `${rollup.rss} vs ${status.vmRss}`);
  });

  test('lines without a kB size (THPeligible, VmFlags, headers) are ignored', () => {
    const text = [
      '55a485a29000-7fffec045000 ---p 00000000 00:00 0                          [rollup]',
      'Rss:                1616 kB',
      'Pss:                 457 kB',
      'Private_Clean:        84 kB',
      'Private_Dirty:       112 kB',
      'THPeligible:           0',
      'VmFlags: rd mr mw me',
    ].join('\n');
    assert.deepEqual(parseSmapsTotals(text), {
      rss: 1616 * 1024,
      pss: 457 * 1024,
      privateClean: 84 * 1024,
      privateDirty: 112 * 1024,
      swap: 0,
      swapPss: 0,
    });
  });

  test('a sample of an idle Python process adds up', () => {
    const s = sampleMemory(idle.pid);
    assert.ok(Math.abs(s.t - Date.now()) < 60_000, 't is ms since the epoch');
    assert.ok(s.rss > 0);
    // The kernel computes VmRSS as the sum of these three counters (fs/proc/task_mmu.c).
    assert.equal(s.rss, s.anon + s.file + s.shmem);
    assert.ok(s.uss !== null && s.pss !== null && s.uss <= s.pss && s.pss <= s.rss);
    assert.equal(s.swap !== null && s.swap >= 0, true);
    assert.ok(s.threads >= 1);
    assert.ok(s.fds !== null && s.fds >= 3, 'stdin, stdout and stderr at least');
  });
});

describe('sampleMemory on processes that are gone', () => {
  test('a pid that never existed is reported as exited', () => {
    assert.throws(() => sampleMemory(NO_SUCH_PID), TargetExitedError);
  });

  test('a reaped process is reported as exited', async () => {
    const pid = await deadPid();
    assert.throws(() => sampleMemory(pid), TargetExitedError);
  });

  test('a zombie counts as exited, though /proc still lists it', async () => {
    // The parent never waits for its child, so the child stays a zombie until the parent goes.
    const parent = await startTarget(PYTHON, ['-c', 'import subprocess, time\np = subprocess.Popen(["true"])\ntime.sleep(0.3)\nprint("ready %d" % p.pid)\ntime.sleep(60)']);
    try {
      const zombie = Number(/ready (\d+)/.exec(parent.stdout())![1]);
      assert.match(readFileSync(`/proc/${zombie}/status`, 'utf8'), /State:\s+Z/);
      assert.throws(() => sampleMemory(zombie), TargetExitedError);
    } finally {
      await parent.kill();
    }
  });
});

test('files the kernel refuses to show read as null, not as an error', (t) => {
  // Here pid 1 is not ptrace-readable even by root; skip where it is.
  let denied = false;
  try {
    readFileSync('/proc/1/smaps_rollup');
  } catch (err) {
    denied = (err as { code?: string }).code === 'EACCES';
  }
  if (!denied) return t.skip('/proc/1/smaps_rollup is readable on this machine');
  const s = sampleMemory(1);
  assert.ok(s.rss > 0);
  assert.equal(s.pss, null);
  assert.equal(s.uss, null);
  assert.equal(s.swap, null);
  assert.equal(s.swap_pss, null);
});

describe('watchMemory', () => {
  let idle: Target;
  before(async () => {
    idle = await startTarget(PYTHON, ['grow_steadily.py', '2', '100', '0']);
  });
  after(() => idle.kill());

  test('takes one sample per tick from 0 to the duration, in time order', async () => {
    const seen: MemorySample[] = [];
    const samples = await watchMemory(idle.pid, {
      intervalS: 0.05,
      durationS: 0.5,
      onSample: (s) => seen.push(s),
    });
    assert.deepEqual(seen, samples);
    // 11 ticks (0, 50, ..., 500 ms); a busy machine may drop some but never adds any.
    assert.ok(samples.length >= 2 && samples.length <= 11, `${samples.length} samples`);
    for (let i = 1; i < samples.length; i++) assert.ok(samples[i]!.t > samples[i - 1]!.t);
  });

  test('a duration of 0 takes a single sample', async () => {
    const samples = await watchMemory(idle.pid, { intervalS: 1, durationS: 0 });
    assert.equal(samples.length, 1);
  });

  test('aborting returns the samples so far', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const samples = await watchMemory(idle.pid, { intervalS: 0.1, durationS: 60, signal: controller.signal });
    assert.ok(samples.length >= 1 && samples.length < 600, `${samples.length} samples`);
  });

  test('a target that exits mid-watch ends it with what was gathered', async () => {
    const target = await startTarget(PYTHON, ['grow_steadily.py', '2', '100', '0']);
    setTimeout(() => void target.kill(), 300);
    let exited = 0;
    const samples = await watchMemory(target.pid, {
      intervalS: 0.05,
      durationS: 30,
      onExit: () => exited++,
    });
    assert.equal(exited, 1);
    assert.ok(samples.length >= 1);
  });

  test('a target gone before the first sample is an error', async () => {
    const pid = await deadPid();
    await assert.rejects(watchMemory(pid, { intervalS: 0.1, durationS: 1 }), TargetExitedError);
  });
});
