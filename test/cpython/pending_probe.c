/*
 * Prints, as JSON, the offsets of the pending-call queue and the eval
 * breaker that src/cpython/pendingCalls.ts claims, computed by the compiler
 * from one interpreter's installed headers. Built by
 * test/cpython/pendingCalls.test.ts like layout_probe.c. 2.7 and 3.6 keep the
 * queue in statics of Python/ceval.c, which no header declares: nothing to
 * print there but the entry size.
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
#if PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_ceval.h"
#endif

static int first = 1;
#define OUT(name, value)                                                    \
  do {                                                                      \
    printf("%s\"%s\": %ld", first ? "{" : ", ", name, (long)(value));       \
    first = 0;                                                              \
  } while (0)
#define OFF(name, type, field) OUT(name, offsetof(type, field))

#if PY_VERSION_HEX >= 0x03090000
typedef PyInterpreterState Holder;
#define CEVAL_NAME "interp.ceval"
#elif PY_VERSION_HEX >= 0x03070000
typedef _PyRuntimeState Holder;
#define CEVAL_NAME "runtime.ceval"
#endif

int main(void) {
#if PY_VERSION_HEX >= 0x03070000
  struct _pending_calls *p = 0;
  OFF(CEVAL_NAME, Holder, ceval);
#if PY_VERSION_HEX < 0x030D0000
  OUT("ceval.eval_breaker", offsetof(Holder, ceval.eval_breaker) - offsetof(Holder, ceval));
  OUT("ceval.gil_drop_request", offsetof(Holder, ceval.gil_drop_request) - offsetof(Holder, ceval));
#else
  OFF("tstate.eval_breaker", PyThreadState, eval_breaker);
  /* The flags memwhy's forked child clears share the low byte with nothing else. */
  OUT("tstate.eval_breaker.events_shift", _PY_EVAL_EVENTS_BITS);
  OUT("tstate.eval_breaker.drop_request_mask", _PY_GIL_DROP_REQUEST_BIT);
#endif
  OUT("ceval.pending", offsetof(Holder, ceval.pending) - offsetof(Holder, ceval));
#if PY_VERSION_HEX >= 0x030D0000
  OFF("pending.guard", struct _pending_calls, handling_thread);
  OFF("pending.lock", struct _pending_calls, mutex);
  OFF("pending.count", struct _pending_calls, npending);
  OFF("pending.max", struct _pending_calls, max);
  OFF("pending.last", struct _pending_calls, next);
  OFF("pending.entry_flags", struct _pending_call, flags);
#else
#if PY_VERSION_HEX >= 0x030C0000
  OFF("pending.guard", struct _pending_calls, busy);
#elif PY_VERSION_HEX >= 0x03080000 && PY_VERSION_HEX < 0x03090000
  OFF("pending.guard", struct _pending_calls, finishing);
#endif
  OFF("pending.lock", struct _pending_calls, lock);
  OFF("pending.count", struct _pending_calls, calls_to_do);
  OFF("pending.last", struct _pending_calls, last);
#endif
  OFF("pending.calls", struct _pending_calls, calls);
  OFF("pending.first", struct _pending_calls, first);
  OUT("pending.entry_size", sizeof(p->calls[0]));
  OUT("pending.capacity", sizeof(p->calls) / sizeof(p->calls[0]));
#else
  OUT("pending.entry_size", 2 * sizeof(void *));
#endif
  printf("}\n");
  return 0;
}
