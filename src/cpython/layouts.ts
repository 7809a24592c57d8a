/**
 * Where CPython keeps what a stack reader needs, per minor version, on
 * x86_64 Linux builds with the default configuration. Offsets are in bytes.
 *
 * Source of every number: the offsetof() of the named field, computed by the
 * compiler from the headers each release installs (Include/pystate.h,
 * Include/cpython/pystate.h, Include/internal/pycore_{runtime,interp,frame,
 * code,gil}.h, Include/frameobject.h, Include/code.h, Include/unicodeobject.h)
 * for 2.7.18, 3.6.15, 3.7.16, 3.8.18, 3.9.18, 3.10.13, 3.11.2, 3.11.7, 3.12.1
 * and 3.13.0. test/cpython/layout_probe.c is that computation, and
 * test/cpython/layouts.test.ts checks this table against it for every
 * interpreter on the machine. 3.13+ also publishes most of these in
 * _Py_DebugOffsets at the start of _PyRuntime (see debug-offsets.ts), which
 * overrides this table at run time.
 */

/** How a code object maps an instruction offset to a line (see linetable.ts). */
export type LineTableFormat =
  /** co_lnotab, unsigned line increments (2.7): Objects/lnotab_notes.txt. */
  | 'lnotab-unsigned'
  /** co_lnotab, signed line increments (3.6-3.9). */
  | 'lnotab'
  /** co_linetable (3.10): (byte delta, signed line delta) pairs, -128 = no line. */
  | 'linetable-3.10'
  /** co_linetable (3.11+): the locations table of Objects/locations.md. */
  | 'locations';

/** How a thread finds its innermost frame. */
export type CurrentFrame =
  /** tstate->frame (<= 3.10) or tstate->current_frame (3.13+). */
  | { kind: 'direct'; offset: number }
  /** tstate->cframe->current_frame (3.11, 3.12). */
  | { kind: 'cframe'; cframe: number; currentFrame: number };

/** PyFrameObject, a heap object per frame (<= 3.10). */
export interface FrameObjectLayout {
  kind: 'frame-object';
  back: number;
  code: number;
  /** int f_lasti: a byte offset up to 3.9, a code-unit index in 3.10. */
  lasti: number;
  lastiUnit: 'byte' | 'code-unit';
  /** int f_lineno: set only while tracing; 3.10 prefers it when non-zero. */
  lineno: number;
}

/** _PyInterpreterFrame, frames on the per-thread data stack (3.11+). */
export interface InterpreterFrameLayout {
  kind: 'interpreter-frame';
  /** f_code (3.11, 3.12) or f_executable (3.13+, may be None for shim frames). */
  code: number;
  previous: number;
  /** prev_instr (3.11, 3.12: the code unit before the next instruction) or instr_ptr (3.13+: the current one). */
  instr: number;
  owner: number;
  /** 3.11's is_entry: the frame a C call into the eval loop started with. */
  isEntry?: number;
  /** enum _frameowner's FRAME_OWNED_BY_CSTACK (pycore_frame.h): shim frames to skip (3.12+). */
  ownedByCStack?: number;
}

/** struct _gil_runtime_state (pycore_gil.h, internal/ceval.h on 3.7). */
export interface GilLayout {
  lastHolder: number;
  locked: number;
}

/** Where the GIL state lives. */
export type GilLocation =
  /** _PyRuntime.ceval.gil (3.7-3.11). */
  | { kind: 'runtime'; offset: number; state: GilLayout }
  /** interp->ceval.gil, a pointer (3.12+: a GIL per interpreter). */
  | { kind: 'interpreter'; pointer: number; state: GilLayout }
  /** No GIL struct to read (2.7, 3.6): the _PyThreadState_Current global is NULL whenever the GIL is released. */
  | { kind: 'current-tstate' };

/** How to find the first interpreter state. */
export type InterpreterHead =
  /** _PyRuntime.interpreters.head (3.7+). */
  | { kind: 'runtime'; offset: number }
  /** The static `interp_head` in Python/pystate.c (2.7, 3.6). */
  | { kind: 'interp_head' };

export interface StrLayout {
  /** Py_ssize_t length in PyASCIIObject. */
  length: number;
  /** The state bitfield: kind bits 2-4, compact bit 5, ascii bit 6 (Include/cpython/unicodeobject.h). */
  state: number;
  /** sizeof(PyASCIIObject): compact ASCII data follows it. */
  asciiData: number;
  /** sizeof(PyCompactUnicodeObject): compact non-ASCII data follows it. */
  compactData: number;
}

export interface Layout {
  major: number;
  minor: number;
  head: InterpreterHead;
  gil: GilLocation;
  interp: { next: number; threadsHead: number };
  tstate: {
    next: number;
    interp: number;
    /** pthread_self() of the thread (unsigned long). */
    threadId: number;
    /** The kernel tid (3.11+); older versions map thread_id through glibc's struct pthread. */
    nativeThreadId?: number;
    frame: CurrentFrame;
  };
  frame: FrameObjectLayout | InterpreterFrameLayout;
  code: {
    filename: number;
    name: number;
    /** co_qualname (3.11+). */
    qualname?: number;
    firstlineno: number;
    /** co_lnotab or co_linetable: a bytes object. */
    linetable: number;
    lineTable: LineTableFormat;
    /** co_code_adaptive (3.11+): the instructions, inline in the code object. */
    codeAdaptive?: number;
  };
  /** PyBytesObject (PyStringObject on 2.7): ob_size and ob_sval. */
  bytes: { size: number; data: number };
  /** PEP 393 str (3.3+); 2.7's names are bytes. */
  str?: StrLayout;
  /** A frame's fast locals, for --locals. */
  locals: LocalsLayout;
  /** The objects whose values --locals shows. */
  objects: ObjectsLayout;
}

export interface LocalsLayout {
  /** f_localsplus (<= 3.10) or localsplus (3.11+): the PyObject* array in the frame. */
  frameArray: number;
  /** co_varnames (<= 3.10) or co_localsplusnames (3.11+): a tuple naming the slots. */
  codeNames: number;
  /** co_nlocals (<= 3.10): how many slots are plain locals. From 3.11 the names tuple's length says. */
  codeCount?: number;
}

export interface ObjectsLayout {
  /** PyTypeObject.tp_name: a char*. */
  typeName: number;
  /** PyVarObject.ob_size: a list's, tuple's or (<= 3.11) int's size. */
  varSize: number;
  tupleItems: number;
  floatValue: number;
  /** PyDictObject.ma_used. */
  dictUsed: number;
  /** PySetObject.used. */
  setUsed: number;
  /** PyCellObject.ob_ref. */
  cellRef: number;
  /** PyLongObject's digits, each `digitBits` wide in a uint32 (PYLONG_BITS_IN_DIGIT). */
  longDigits: number;
  digitBits: number;
  /** 3.12+: lv_tag holds the digit count (tag >> 3) and the sign (1 - (tag & 3)) (Include/cpython/longintrepr.h). */
  longTag?: number;
  /** 2.7: PyIntObject.ob_ival. */
  intValue?: number;
}

/** PyObject: ob_refcnt, then ob_type (Include/object.h), in every version. */
export const OB_TYPE = 8;
const BYTES_3 = { size: 16, data: 32 }; // PyBytesObject: ob_base.ob_size, ob_sval
const STR_LEGACY = { length: 16, state: 32, asciiData: 48, compactData: 72 }; // 3.3-3.11: with wstr
const STR_312 = { length: 16, state: 32, asciiData: 40, compactData: 56 }; // 3.12+: wstr removed (PEP 623)
/** The same in every version but where noted (Include/object.h, tupleobject.h, floatobject.h, dictobject.h, setobject.h, cellobject.h, longintrepr.h). */
const OBJECTS: ObjectsLayout = {
  typeName: 24,
  varSize: 16,
  tupleItems: 24,
  floatValue: 16,
  dictUsed: 16,
  setUsed: 24,
  cellRef: 16,
  longDigits: 24,
  digitBits: 30,
};
const OBJECTS_312: ObjectsLayout = { ...OBJECTS, longTag: 16 };
const GIL = { lastHolder: 8, locked: 16 }; // struct _gil_runtime_state: interval, last_holder, locked
const FRAME_OWNED_BY_CSTACK = 3; // pycore_frame.h, enum _frameowner (3.12, 3.13)

export const LAYOUTS: readonly Layout[] = [
  {
    major: 2,
    minor: 7,
    head: { kind: 'interp_head' },
    gil: { kind: 'current-tstate' },
    interp: { next: 0, threadsHead: 8 },
    tstate: { next: 0, interp: 8, threadId: 144, frame: { kind: 'direct', offset: 16 } },
    frame: { kind: 'frame-object', back: 24, code: 32, lasti: 120, lastiUnit: 'byte', lineno: 124 },
    code: { filename: 80, name: 88, firstlineno: 96, linetable: 104, lineTable: 'lnotab-unsigned' },
    bytes: { size: 16, data: 36 }, // PyStringObject: ob_size, ob_shash, ob_sstate, ob_sval
    locals: { frameArray: 376, codeNames: 56, codeCount: 20 },
    objects: { ...OBJECTS, dictUsed: 24, intValue: 16 }, // PyDictObject: ma_fill, then ma_used
  },
  {
    major: 3,
    minor: 6,
    head: { kind: 'interp_head' },
    gil: { kind: 'current-tstate' },
    interp: { next: 0, threadsHead: 8 },
    tstate: { next: 8, interp: 16, threadId: 152, frame: { kind: 'direct', offset: 24 } },
    frame: { kind: 'frame-object', back: 24, code: 32, lasti: 120, lastiUnit: 'byte', lineno: 124 },
    code: { filename: 96, name: 104, firstlineno: 36, linetable: 112, lineTable: 'lnotab' },
    bytes: BYTES_3,
    str: STR_LEGACY,
    locals: { frameArray: 376, codeNames: 64, codeCount: 24 },
    objects: OBJECTS,
  },
  {
    major: 3,
    minor: 7,
    head: { kind: 'runtime', offset: 24 },
    gil: { kind: 'runtime', offset: 1264, state: GIL },
    interp: { next: 0, threadsHead: 8 },
    tstate: { next: 8, interp: 16, threadId: 176, frame: { kind: 'direct', offset: 24 } },
    frame: { kind: 'frame-object', back: 24, code: 32, lasti: 104, lastiUnit: 'byte', lineno: 108 },
    code: { filename: 96, name: 104, firstlineno: 36, linetable: 112, lineTable: 'lnotab' },
    bytes: BYTES_3,
    str: STR_LEGACY,
    locals: { frameArray: 360, codeNames: 64, codeCount: 24 },
    objects: OBJECTS,
  },
  {
    major: 3,
    minor: 8,
    head: { kind: 'runtime', offset: 32 },
    gil: { kind: 'runtime', offset: 1152, state: GIL },
    interp: { next: 0, threadsHead: 8 },
    tstate: { next: 8, interp: 16, threadId: 176, frame: { kind: 'direct', offset: 24 } },
    frame: { kind: 'frame-object', back: 24, code: 32, lasti: 104, lastiUnit: 'byte', lineno: 108 },
    code: { filename: 104, name: 112, firstlineno: 40, linetable: 120, lineTable: 'lnotab' },
    bytes: BYTES_3,
    str: STR_LEGACY,
    locals: { frameArray: 360, codeNames: 72, codeCount: 28 },
    objects: OBJECTS,
  },
  {
    major: 3,
    minor: 9,
    head: { kind: 'runtime', offset: 32 },
    gil: { kind: 'runtime', offset: 352, state: GIL },
    interp: { next: 0, threadsHead: 8 },
    tstate: { next: 8, interp: 16, threadId: 176, frame: { kind: 'direct', offset: 24 } },
    frame: { kind: 'frame-object', back: 24, code: 32, lasti: 104, lastiUnit: 'byte', lineno: 108 },
    code: { filename: 104, name: 112, firstlineno: 40, linetable: 120, lineTable: 'lnotab' },
    bytes: BYTES_3,
    str: STR_LEGACY,
    locals: { frameArray: 360, codeNames: 72, codeCount: 28 },
    objects: OBJECTS,
  },
  {
    major: 3,
    minor: 10,
    head: { kind: 'runtime', offset: 32 },
    gil: { kind: 'runtime', offset: 352, state: GIL },
    interp: { next: 0, threadsHead: 8 },
    tstate: { next: 8, interp: 16, threadId: 176, frame: { kind: 'direct', offset: 24 } },
    frame: { kind: 'frame-object', back: 24, code: 32, lasti: 96, lastiUnit: 'code-unit', lineno: 100 },
    code: { filename: 104, name: 112, firstlineno: 40, linetable: 120, lineTable: 'linetable-3.10' },
    bytes: BYTES_3,
    str: STR_LEGACY,
    locals: { frameArray: 352, codeNames: 72, codeCount: 28 },
    objects: OBJECTS,
  },
  {
    major: 3,
    minor: 11,
    head: { kind: 'runtime', offset: 40 },
    gil: { kind: 'runtime', offset: 360, state: GIL },
    interp: { next: 0, threadsHead: 16 },
    tstate: {
      next: 8,
      interp: 16,
      threadId: 152,
      nativeThreadId: 160,
      frame: { kind: 'cframe', cframe: 56, currentFrame: 8 },
    },
    frame: { kind: 'interpreter-frame', code: 32, previous: 48, instr: 56, owner: 69, isEntry: 68 },
    code: {
      filename: 112,
      name: 120,
      qualname: 128,
      firstlineno: 72,
      linetable: 136,
      lineTable: 'locations',
      codeAdaptive: 184,
    },
    bytes: BYTES_3,
    str: STR_LEGACY,
    locals: { frameArray: 72, codeNames: 96 },
    objects: OBJECTS,
  },
  {
    major: 3,
    minor: 12,
    head: { kind: 'runtime', offset: 40 },
    gil: { kind: 'interpreter', pointer: 384, state: GIL },
    interp: { next: 0, threadsHead: 72 },
    tstate: {
      next: 8,
      interp: 16,
      threadId: 136,
      nativeThreadId: 144,
      frame: { kind: 'cframe', cframe: 56, currentFrame: 0 },
    },
    frame: {
      kind: 'interpreter-frame',
      code: 0,
      previous: 8,
      instr: 56,
      owner: 70,
      ownedByCStack: FRAME_OWNED_BY_CSTACK,
    },
    code: {
      filename: 112,
      name: 120,
      qualname: 128,
      firstlineno: 68,
      linetable: 136,
      lineTable: 'locations',
      codeAdaptive: 192,
    },
    bytes: BYTES_3,
    str: STR_312,
    locals: { frameArray: 72, codeNames: 96 },
    objects: OBJECTS_312,
  },
  {
    major: 3,
    minor: 13,
    head: { kind: 'runtime', offset: 632 },
    gil: { kind: 'interpreter', pointer: 16, state: GIL },
    interp: { next: 7264, threadsHead: 7344 },
    tstate: {
      next: 8,
      interp: 16,
      threadId: 152,
      nativeThreadId: 160,
      frame: { kind: 'direct', offset: 72 },
    },
    frame: {
      kind: 'interpreter-frame',
      code: 0,
      previous: 8,
      instr: 56,
      owner: 70,
      ownedByCStack: FRAME_OWNED_BY_CSTACK,
    },
    code: {
      filename: 112,
      name: 120,
      qualname: 128,
      firstlineno: 68,
      linetable: 136,
      lineTable: 'locations',
      codeAdaptive: 200,
    },
    bytes: BYTES_3,
    str: STR_312,
    locals: { frameArray: 72, codeNames: 96 },
    objects: OBJECTS_312,
  },
];

/** The layout for a minor version, or undefined when memwhy has none. */
export function layoutFor(version: { major: number; minor: number }): Layout | undefined {
  return LAYOUTS.find((l) => l.major === version.major && l.minor === version.minor);
}

/** The versions with a layout, for messages: "2.7, 3.6-3.13". */
export function supportedVersions(): string {
  const threes = LAYOUTS.filter((l) => l.major === 3).map((l) => l.minor);
  return `2.7, 3.${Math.min(...threes)}-3.${Math.max(...threes)}`;
}
