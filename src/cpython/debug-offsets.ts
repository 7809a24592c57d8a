/**
 * 3.13+ publishes the offsets a debugger needs in _Py_DebugOffsets, the first
 * member of _PyRuntime (Include/internal/pycore_runtime.h), initialised in
 * pycore_runtime_init.h. Reading them makes memwhy follow a micro release
 * that moves a field; the header-derived table (layouts.ts) still supplies
 * what the struct does not say: frame ownership values and line table format.
 */
import type { MemorySource } from '../memory/source.js';
import type { Layout } from './layouts.js';

/** `char cookie[8]` at the start of _PyRuntime (pycore_runtime.h: _Py_Debug_Cookie). */
export const DEBUG_COOKIE = 'xdebugpy';

/**
 * The 3.13 struct: after the cookie, every member is a uint64_t, in this
 * order. Each group starts with its struct's size.
 */
const FIELDS_3_13 = [
  'version',
  'free_threaded',
  'runtime.size',
  'runtime.finalizing',
  'runtime.interpreters_head',
  'interp.size',
  'interp.id',
  'interp.next',
  'interp.threads_head',
  'interp.gc',
  'interp.imports_modules',
  'interp.sysdict',
  'interp.builtins',
  'interp.ceval_gil',
  'interp.gil_runtime_state',
  'interp.gil_runtime_state_enabled',
  'interp.gil_runtime_state_locked',
  'interp.gil_runtime_state_holder',
  'tstate.size',
  'tstate.prev',
  'tstate.next',
  'tstate.interp',
  'tstate.current_frame',
  'tstate.thread_id',
  'tstate.native_thread_id',
  'tstate.datastack_chunk',
  'tstate.status',
  'frame.size',
  'frame.previous',
  'frame.executable',
  'frame.instr_ptr',
  'frame.localsplus',
  'frame.owner',
  'code.size',
  'code.filename',
  'code.name',
  'code.qualname',
  'code.linetable',
  'code.firstlineno',
  'code.argcount',
  'code.localsplusnames',
  'code.localspluskinds',
  'code.co_code_adaptive',
  'object.size',
  'object.ob_type',
  'type.size',
  'type.tp_name',
  'type.tp_repr',
  'type.tp_flags',
  'tuple.size',
  'tuple.ob_item',
  'tuple.ob_size',
  'list.size',
  'list.ob_item',
  'list.ob_size',
  'dict.size',
  'dict.ma_keys',
  'dict.ma_values',
  'float.size',
  'float.ob_fval',
  'long.size',
  'long.lv_tag',
  'long.ob_digit',
  'bytes.size',
  'bytes.ob_size',
  'bytes.ob_sval',
  'unicode.size',
  'unicode.state',
  'unicode.length',
  'unicode.asciiobject_size',
  'gc.size',
  'gc.collecting',
] as const;

type Field = (typeof FIELDS_3_13)[number];

export interface DebugOffsets {
  /** PY_VERSION_HEX of the build. */
  version: bigint;
  freeThreaded: boolean;
  get(field: Field): number;
}

/** Reads _Py_DebugOffsets at `runtime`; undefined when the cookie is not there (before 3.13, or not _PyRuntime). */
export function readDebugOffsets(memory: MemorySource, runtime: bigint): DebugOffsets | undefined {
  const raw = memory.read(runtime, 8 + FIELDS_3_13.length * 8);
  if (raw.toString('latin1', 0, 8) !== DEBUG_COOKIE) return undefined;
  const values = new Map<Field, bigint>();
  FIELDS_3_13.forEach((f, i) => values.set(f, raw.readBigUInt64LE(8 + i * 8)));
  return {
    version: values.get('version')!,
    freeThreaded: values.get('free_threaded') !== 0n,
    get: (field) => Number(values.get(field)!),
  };
}

/** `base` with every offset the 3.13 debug offsets give replaced by theirs. */
export function applyDebugOffsets(base: Layout, d: DebugOffsets): Layout {
  if (base.frame.kind !== 'interpreter-frame') return base;
  const gilBase = d.get('interp.gil_runtime_state');
  return {
    ...base,
    head: { kind: 'runtime', offset: d.get('runtime.interpreters_head') },
    gil: {
      kind: 'interpreter',
      pointer: d.get('interp.ceval_gil'),
      state: {
        // Given relative to the interpreter's own _gil; the pointer may lead to another's, so keep them relative.
        lastHolder: d.get('interp.gil_runtime_state_holder') - gilBase,
        locked: d.get('interp.gil_runtime_state_locked') - gilBase,
      },
    },
    interp: { next: d.get('interp.next'), threadsHead: d.get('interp.threads_head') },
    tstate: {
      next: d.get('tstate.next'),
      interp: d.get('tstate.interp'),
      threadId: d.get('tstate.thread_id'),
      nativeThreadId: d.get('tstate.native_thread_id'),
      frame: { kind: 'direct', offset: d.get('tstate.current_frame') },
    },
    frame: {
      ...base.frame,
      code: d.get('frame.executable'),
      previous: d.get('frame.previous'),
      instr: d.get('frame.instr_ptr'),
      owner: d.get('frame.owner'),
    },
    code: {
      ...base.code,
      filename: d.get('code.filename'),
      name: d.get('code.name'),
      qualname: d.get('code.qualname'),
      firstlineno: d.get('code.firstlineno'),
      linetable: d.get('code.linetable'),
      codeAdaptive: d.get('code.co_code_adaptive'),
    },
    bytes: { size: d.get('bytes.ob_size'), data: d.get('bytes.ob_sval') },
    locals: { ...base.locals, frameArray: d.get('frame.localsplus'), codeNames: d.get('code.localsplusnames') },
    objects: {
      ...base.objects,
      typeName: d.get('type.tp_name'),
      tupleItems: d.get('tuple.ob_item'),
      varSize: d.get('tuple.ob_size'),
      floatValue: d.get('float.ob_fval'),
      longDigits: d.get('long.ob_digit'),
      longTag: d.get('long.lv_tag'),
    },
    str: base.str && {
      ...base.str,
      length: d.get('unicode.length'),
      state: d.get('unicode.state'),
      asciiData: d.get('unicode.asciiobject_size'),
      // PyCompactUnicodeObject adds utf8_length and utf8 to PyASCIIObject; the struct does not give its size.
      compactData: d.get('unicode.asciiobject_size') + (base.str.compactData - base.str.asciiData),
    },
  };
}
