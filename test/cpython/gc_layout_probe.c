/*
 * Prints, as JSON, where one interpreter keeps its collector state
 * (struct _gc_runtime_state) and the offsets of the fields `memwhy watch`
 * reads, computed by the compiler from the installed headers. Built by
 * test/cpython/gcLayouts.test.ts, which compares it with src/cpython/gcLayouts.ts.
 * 3.7 and 3.8 keep the state in _PyRuntime.gc, 3.9+ in each interpreter
 * (PyInterpreterState.gc, bpo-36854).
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX >= 0x03070000 && PY_VERSION_HEX < 0x03080000
#include "internal/pystate.h"
#elif PY_VERSION_HEX >= 0x03080000 && PY_VERSION_HEX < 0x03090000
#include "internal/pycore_pystate.h"
#elif PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#endif

static int first = 1;
#define OUT(name, value)                                                    \
  do {                                                                      \
    printf("%s\"%s\": %ld", first ? "{" : ", ", name, (long)(value));       \
    first = 0;                                                              \
  } while (0)
#define OFF(name, type, field) OUT(name, offsetof(type, field))

int main(void) {
#if PY_VERSION_HEX >= 0x03090000
  OFF("interp.gc", PyInterpreterState, gc);
#else
  OFF("runtime.gc", _PyRuntimeState, gc);
#endif
  OFF("gc.enabled", struct _gc_runtime_state, enabled);
  OFF("gc.generations", struct _gc_runtime_state, generations);
  OUT("generation.size", sizeof(struct gc_generation));
  OFF("generation.threshold", struct gc_generation, threshold);
  OFF("generation.count", struct gc_generation, count);
  OFF("gc.generation_stats", struct _gc_runtime_state, generation_stats);
  OUT("stats.size", sizeof(struct gc_generation_stats));
  OFF("stats.collections", struct gc_generation_stats, collections);
  OFF("stats.collected", struct gc_generation_stats, collected);
  OFF("stats.uncollectable", struct gc_generation_stats, uncollectable);
  OFF("gc.collecting", struct _gc_runtime_state, collecting);
  OFF("gc.garbage", struct _gc_runtime_state, garbage);
  printf("}\n");
  return 0;
}
