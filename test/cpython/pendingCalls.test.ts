import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpreters } from '../helpers/pythons.js';
import { pendingCallsLayoutFor, type Field, type PendingCallsLayout } from '../../src/cpython/pendingCalls.js';
import { tempDir } from '../helpers/tempDir.js';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'pending_probe.c');

function offset(f: Field): number {
  assert.ok('offset' in f, `a header field, not the static ${JSON.stringify(f)}`);
  return f.offset;
}

/** The layout under the names pending_probe.c prints. */
function flatten(l: PendingCallsLayout): Record<string, number> {
  const out: Record<string, number> = { 'pending.entry_size': l.entrySize };
  if (l.home.kind === 'statics') return out;
  out[l.home.kind === 'runtime' ? 'runtime.ceval' : 'interp.ceval'] = l.home.ceval;
  out['ceval.pending'] = l.home.pending;
  if (l.breaker.kind === 'int') out['ceval.eval_breaker'] = offset(l.breaker.field);
  if (l.breaker.kind === 'tstate-bit') out['tstate.eval_breaker'] = l.breaker.offset;
  if (l.guard) out['pending.guard'] = offset(l.guard.field);
  if (l.max) out['pending.max'] = offset(l.max);
  if (l.entryFlags !== undefined) out['pending.entry_flags'] = l.entryFlags;
  Object.assign(out, {
    'pending.lock': offset(l.lock),
    'pending.count': offset(l.count.field),
    'pending.calls': offset(l.calls),
    'pending.first': offset(l.first),
    'pending.last': offset(l.last),
    'pending.capacity': l.capacity,
  });
  return out;
}

function hasCompiler(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const compiler = hasCompiler();

for (const py of interpreters()) {
  const layout = pendingCallsLayoutFor(py);
  const include = execFileSync(py.path, ['-c', 'import sysconfig; print(sysconfig.get_paths()["include"])'], {
    encoding: 'utf8',
    timeout: 10_000,
  }).trim();
  const skip = !layout
    ? `no pending-call layout for ${py.version}`
    : !compiler
      ? 'no C compiler'
      : !existsSync(join(include, 'Python.h'))
        ? `no headers at ${include}`
        : false;
  test(`the pending-call layout matches offsetof() in ${py.label}'s headers`, { skip }, () => {
    const dir = tempDir('memwhy-pending-probe-');
    try {
      const exe = join(dir, 'probe');
      execFileSync('cc', ['-w', `-I${include}`, `-I${join(include, 'internal')}`, '-o', exe, PROBE], { timeout: 60_000 });
      const fromHeaders = JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as Record<string, number>;
      assert.deepEqual(flatten(layout!), fromHeaders);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
