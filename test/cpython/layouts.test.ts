import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpreters } from '../helpers/pythons.js';
import { probeSkip, runProbe } from '../helpers/headerProbe.js';
import { LAYOUTS, layoutFor, OB_TYPE, type Layout } from '../../src/cpython/layouts.js';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'layout_probe.c');

/** The layout under the names layout_probe.c prints. */
function flatten(l: Layout): Record<string, number> {
  const out: Record<string, number> = {
    'tstate.next': l.tstate.next,
    'tstate.interp': l.tstate.interp,
    'tstate.thread_id': l.tstate.threadId,
    'interp.next': l.interp.next,
    'interp.threads_head': l.interp.threadsHead,
    'code.filename': l.code.filename,
    'code.name': l.code.name,
    'code.firstlineno': l.code.firstlineno,
    'code.linetable': l.code.linetable,
    'object.type': OB_TYPE,
    'bytes.size': l.bytes.size,
    'bytes.data': l.bytes.data,
  };
  if (l.tstate.nativeThreadId !== undefined) out['tstate.native_thread_id'] = l.tstate.nativeThreadId;
  const f = l.tstate.frame;
  if (f.kind === 'cframe') {
    out['tstate.cframe'] = f.cframe;
    out['cframe.current_frame'] = f.currentFrame;
  } else {
    out[l.frame.kind === 'frame-object' ? 'tstate.frame' : 'tstate.current_frame'] = f.offset;
  }
  if (l.head.kind === 'runtime') out['runtime.interpreters_head'] = l.head.offset;
  if (l.gil.kind === 'runtime') out['runtime.gil'] = l.gil.offset;
  if (l.gil.kind === 'interpreter') out['interp.ceval_gil'] = l.gil.pointer;
  if (l.gil.kind !== 'current-tstate') {
    out['gil.last_holder'] = l.gil.state.lastHolder;
    out['gil.locked'] = l.gil.state.locked;
  }
  if (l.frame.kind === 'frame-object') {
    Object.assign(out, {
      'frame.back': l.frame.back,
      'frame.code': l.frame.code,
      'frame.lasti': l.frame.lasti,
      'frame.lineno': l.frame.lineno,
    });
  } else {
    Object.assign(out, {
      'iframe.code': l.frame.code,
      'iframe.previous': l.frame.previous,
      'iframe.instr': l.frame.instr,
      'iframe.owner': l.frame.owner,
    });
    if (l.frame.isEntry !== undefined) out['iframe.is_entry'] = l.frame.isEntry;
  }
  if (l.code.qualname !== undefined) out['code.qualname'] = l.code.qualname;
  if (l.code.codeAdaptive !== undefined) out['code.code_adaptive'] = l.code.codeAdaptive;
  Object.assign(out, {
    'locals.frame_array': l.locals.frameArray,
    'locals.code_names': l.locals.codeNames,
    'type.name': l.objects.typeName,
    'varobject.size': l.objects.varSize,
    'tuple.items': l.objects.tupleItems,
    'float.value': l.objects.floatValue,
    'dict.used': l.objects.dictUsed,
    'set.used': l.objects.setUsed,
    'cell.ref': l.objects.cellRef,
    'long.digits': l.objects.longDigits,
    'long.digit_bits': l.objects.digitBits,
  });
  if (l.locals.codeCount !== undefined) out['locals.code_count'] = l.locals.codeCount;
  if (l.objects.longTag !== undefined) out['long.tag'] = l.objects.longTag;
  if (l.objects.intValue !== undefined) out['int.value'] = l.objects.intValue;
  if (l.str) {
    Object.assign(out, {
      'str.length': l.str.length,
      'str.state': l.str.state,
      'str.ascii_data': l.str.asciiData,
      'str.compact_data': l.str.compactData,
    });
  }
  return out;
}

for (const py of interpreters()) {
  const layout = layoutFor(py);
  test(`the layout table matches offsetof() in ${py.label}'s headers`, { skip: probeSkip(py, !layout && `no layout for ${py.version}`, 'Python.h') }, () => {
    assert.deepEqual(flatten(layout!), runProbe(PROBE, py));
  });
}

test('every layout is for a distinct minor version', () => {
  const keys = LAYOUTS.map((l) => `${l.major}.${l.minor}`);
  assert.equal(new Set(keys).size, keys.length);
});
