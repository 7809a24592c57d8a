/** Runs `memwhy diagnose --json` on a real target and returns the diagnosis; the target must be left running and detached. */
import assert from 'node:assert/strict';
import type { Interpreter } from './pythons.js';
import { startTarget } from './target.js';
import { memwhy } from './cli.js';
import { tracerPid } from './procfs.js';
import type { Diagnosis } from '../../src/analyze/diagnosis.js';

export async function diagnoseTarget(py: Interpreter, script: string, args: string[] = [], extra: string[] = []): Promise<Diagnosis> {
  const target = await startTarget(py.path, [script, ...args], { readyTimeoutMs: 60_000 });
  try {
    const r = await memwhy(['diagnose', String(target.pid), '--duration', '6s', '--interval', '500ms', '--json', ...extra], {
      timeoutMs: 180_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(target.alive(), 'target still running');
    assert.equal(tracerPid(target.pid), 0, 'target detached');
    return JSON.parse(r.stdout) as Diagnosis;
  } finally {
    await target.kill();
  }
}
