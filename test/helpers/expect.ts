/** Assertions shared by the tests that check memwhy leaves a target as it found it. */
import assert from 'node:assert/strict';
import type { CliResult } from './cli.js';
import { agentDirs, processState, tracerPid } from './procfs.js';
import type { Target } from './target.js';

/** A user error: non-zero exit, exactly one line on stderr matching `pattern`, no stack trace. */
export function assertOneLine(r: CliResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `non-zero exit; stdout: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

/** Alive, not traced, not stopped, no private directory of memwhy's left in its /tmp. */
export function assertLeftRunning(target: Target): void {
  assert.ok(target.alive(), 'target still alive');
  assert.equal(tracerPid(target.pid), 0, 'target not traced');
  assert.ok(!['t', 'T'].includes(processState(target.pid)), 'target not stopped');
  assert.deepEqual(agentDirs(target.pid), [], 'no private directory left');
}

/** Polls `cond` every `everyMs` (50 unless told); throws when it has not held within `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what = 'condition', everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
