/*
 * Prints, as JSON, the offsets memwhy's CPython layout table claims, computed
 * by the compiler from one interpreter's installed headers. Built by
 * test/cpython/layouts.test.ts with -I<prefix>/include/pythonX.Y (and its
 * internal/ directory); the test compares the output with src/cpython/layouts.ts.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX < 0x030B0000
#include "longintrepr.h" /* cpython/longintrepr.h from 3.11, included by Python.h */
#endif
#if PY_VERSION_HEX >= 0x03070000 && PY_VERSION_HEX < 0x03080000
#include "internal/pystate.h"
#elif PY_VERSION_HEX >= 0x03080000 && PY_VERSION_HEX < 0x03090000
#include "internal/pycore_pystate.h"
#elif PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#endif
#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030B0000
#include "frameobject.h"
#endif
#if PY_VERSION_HEX < 0x03090000
#include "frameobject.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"
#endif
#if PY_VERSION_HEX >= 0x030C0000
#include "internal/pycore_gil.h"
#endif

static int first = 1;
#define OUT(name, value)                                                    \
  do {                                                                      \
    printf("%s\"%s\": %ld", first ? "{" : ", ", name, (long)(value));       \
    first = 0;                                                              \
  } while (0)
#define OFF(name, type, field) OUT(name, offsetof(type, field))

int main(void) {
  /* Thread and interpreter states. */
  OFF("tstate.next", PyThreadState, next);
  OFF("tstate.interp", PyThreadState, interp);
  OFF("tstate.thread_id", PyThreadState, thread_id);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("tstate.native_thread_id", PyThreadState, native_thread_id);
#endif
#if PY_VERSION_HEX >= 0x030D0000
  OFF("tstate.current_frame", PyThreadState, current_frame);
#elif PY_VERSION_HEX >= 0x030B0000
  OFF("tstate.cframe", PyThreadState, cframe);
  OFF("cframe.current_frame", _PyCFrame, current_frame);
#else
  OFF("tstate.frame", PyThreadState, frame);
#endif
  OFF("interp.next", PyInterpreterState, next);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("interp.threads_head", PyInterpreterState, threads.head);
#else
  OFF("interp.threads_head", PyInterpreterState, tstate_head);
#endif
#if PY_VERSION_HEX >= 0x03070000
  OFF("runtime.interpreters_head", _PyRuntimeState, interpreters.head);
#endif

  /* The GIL: where it lives, and who holds it. */
#if PY_VERSION_HEX >= 0x030C0000
  OFF("interp.ceval_gil", PyInterpreterState, ceval.gil);
#elif PY_VERSION_HEX >= 0x03070000
  OFF("runtime.gil", _PyRuntimeState, ceval.gil);
#endif
#if PY_VERSION_HEX >= 0x03070000
  OFF("gil.last_holder", struct _gil_runtime_state, last_holder);
  OFF("gil.locked", struct _gil_runtime_state, locked);
#endif

  /* Frames. */
#if PY_VERSION_HEX >= 0x030B0000
#if PY_VERSION_HEX >= 0x030D0000
  OFF("iframe.code", _PyInterpreterFrame, f_executable);
  OFF("iframe.instr", _PyInterpreterFrame, instr_ptr);
#else
  OFF("iframe.code", _PyInterpreterFrame, f_code);
  OFF("iframe.instr", _PyInterpreterFrame, prev_instr);
#endif
  OFF("iframe.previous", _PyInterpreterFrame, previous);
  OFF("iframe.owner", _PyInterpreterFrame, owner);
#if PY_VERSION_HEX < 0x030C0000
  OFF("iframe.is_entry", _PyInterpreterFrame, is_entry);
#endif
#else
  OFF("frame.back", PyFrameObject, f_back);
  OFF("frame.code", PyFrameObject, f_code);
  OFF("frame.lasti", PyFrameObject, f_lasti);
  OFF("frame.lineno", PyFrameObject, f_lineno);
#endif

  /* Code objects. */
  OFF("code.filename", PyCodeObject, co_filename);
  OFF("code.name", PyCodeObject, co_name);
  OFF("code.firstlineno", PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("code.qualname", PyCodeObject, co_qualname);
  OFF("code.code_adaptive", PyCodeObject, co_code_adaptive);
#endif
#if PY_VERSION_HEX >= 0x030A0000
  OFF("code.linetable", PyCodeObject, co_linetable);
#else
  OFF("code.linetable", PyCodeObject, co_lnotab);
#endif

  /* Locals: the fast locals array and the names of its slots. */
#if PY_VERSION_HEX >= 0x030B0000
  OFF("locals.frame_array", _PyInterpreterFrame, localsplus);
  OFF("locals.code_names", PyCodeObject, co_localsplusnames);
#else
  OFF("locals.frame_array", PyFrameObject, f_localsplus);
  OFF("locals.code_names", PyCodeObject, co_varnames);
  OFF("locals.code_count", PyCodeObject, co_nlocals);
#endif

  /* Objects. */
  OFF("object.type", PyObject, ob_type);
  OFF("type.name", PyTypeObject, tp_name);
  OFF("varobject.size", PyVarObject, ob_size);
  OFF("tuple.items", PyTupleObject, ob_item);
  OFF("float.value", PyFloatObject, ob_fval);
  OFF("dict.used", PyDictObject, ma_used);
  OFF("set.used", PySetObject, used);
  OFF("cell.ref", PyCellObject, ob_ref);
#if PY_VERSION_HEX >= 0x030C0000
  OFF("long.tag", PyLongObject, long_value.lv_tag);
  OFF("long.digits", PyLongObject, long_value.ob_digit);
#else
  OFF("long.digits", PyLongObject, ob_digit);
#endif
  OUT("long.digit_bits", PyLong_SHIFT);
#if PY_MAJOR_VERSION < 3
  OFF("int.value", PyIntObject, ob_ival);
#endif
#if PY_MAJOR_VERSION >= 3
  OFF("bytes.size", PyBytesObject, ob_base.ob_size);
  OFF("bytes.data", PyBytesObject, ob_sval);
  OFF("str.length", PyASCIIObject, length);
  OFF("str.state", PyASCIIObject, state);
  OUT("str.ascii_data", sizeof(PyASCIIObject));
  OUT("str.compact_data", sizeof(PyCompactUnicodeObject));
#else
  OFF("bytes.size", PyStringObject, ob_size);
  OFF("bytes.data", PyStringObject, ob_sval);
#endif
  printf("}\n");
  return 0;
}
