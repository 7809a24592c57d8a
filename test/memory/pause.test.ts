import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { withProcessStopped } from '../../src/memory/pause.js';
import { readStatus } from '../../src/target/proc.js';
import { startKnownBytes } from './known-bytes.js';

const stopped = (pid: number): boolean => /^T/.test(readStatus(pid).state);

test('every thread is stopped during the read and the target runs again after it', async () => {
  const { target } = await startKnownBytes();
  try {
    const result = withProcessStopped(target.pid, () => readdirSync(`/proc/${target.pid}/task`).map((tid) => readStatus(Number(tid)).state));
    assert.ok(
      result.value.every((s) => s.startsWith('T')),
      `states during the read: ${result.value.join(', ')}`,
    );
    assert.equal(result.allStopped, true);
    assert.ok(result.pauseMs > 0);
    assert.equal(stopped(target.pid), false);
  } finally {
    await target.kill();
  }
});

test('the target runs again when the read throws', async () => {
  const { target } = await startKnownBytes();
  try {
    assert.throws(
      () =>
        withProcessStopped(target.pid, () => {
          throw new Error('torn read');
        }),
      /torn read/,
    );
    assert.equal(stopped(target.pid), false);
  } finally {
    await target.kill();
  }
});

test('a target stopped before the read is left stopped, with no pause reported', async () => {
  const { target } = await startKnownBytes();
  try {
    process.kill(target.pid, 'SIGSTOP');
    for (let i = 0; i < 100 && !stopped(target.pid); i++) await new Promise((r) => setTimeout(r, 10));
    const result = withProcessStopped(target.pid, () => 'read');
    assert.equal(result.pauseMs, 0);
    assert.equal(stopped(target.pid), true);
    process.kill(target.pid, 'SIGCONT');
  } finally {
    await target.kill();
  }
});

test('the watchdog continues the target if memwhy dies mid-pause', async () => {
  const { target } = await startKnownBytes();
  try {
    // A child that stops the target inside the pause and then kills itself with SIGKILL: no finally runs.
    const { spawnSync } = await import('node:child_process');
    const script = `
      import { withProcessStopped } from ${JSON.stringify(new URL('../../src/memory/pause.ts', import.meta.url).href)};
      withProcessStopped(${target.pid}, () => process.kill(process.pid, 'SIGKILL'), { stopTimeoutMs: 1000, watchdogSeconds: 1 });
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 });
    assert.equal(child.signal, 'SIGKILL');
    assert.equal(stopped(target.pid), true, 'left stopped by the killed reader');
    for (let i = 0; i < 300 && stopped(target.pid); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(stopped(target.pid), false, 'continued by the watchdog');
  } finally {
    await target.kill();
  }
});
