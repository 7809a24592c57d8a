import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpreters } from '../helpers/pythons.js';
import { probeSkip, runProbe } from '../helpers/headerProbe.js';
import { pendingCallsLayoutFor, type Field, type PendingCallsLayout } from '../../src/cpython/pendingCalls.js';

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
  // What a forked child clears (src/agent/fork.py): eval_breaker and the int
  // after it, gil_drop_request; on 3.13 the low byte of the thread's
  // eval_breaker, which must hold the drop request and no instrumentation bits.
  if (l.forkReset.kind === 'ints') {
    const [breaker, drop] = l.forkReset.fields.map(offset);
    assert.equal(breaker, out['ceval.eval_breaker']);
    out['ceval.gil_drop_request'] = drop!;
  }
  if (l.forkReset.kind === 'tstate-byte') {
    assert.equal(l.forkReset.offset, out['tstate.eval_breaker']);
    Object.assign(out, { 'tstate.eval_breaker.events_shift': 8, 'tstate.eval_breaker.drop_request_mask': 1 });
  }
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

for (const py of interpreters()) {
  const layout = pendingCallsLayoutFor(py);
  test(`the pending-call layout matches offsetof() in ${py.label}'s headers`, { skip: probeSkip(py, !layout && `no pending-call layout for ${py.version}`, 'Python.h') }, () => {
    assert.deepEqual(flatten(layout!), runProbe(PROBE, py));
  });
}
