/*
 * Prints, as JSON, where 3.12+ keeps pymalloc's arena counters (struct
 * _obmalloc_mgmt in struct _obmalloc_state, Include/internal/pycore_obmalloc.h)
 * and the interpreter's link to that state, computed by the compiler from the
 * installed headers. Built by test/cpython/arenaLayouts.test.ts, which
 * compares it with src/cpython/arenaLayouts.ts. 3.6-3.11 keep the counters
 * in static variables of Objects/obmalloc.c, which no header describes.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "internal/pycore_interp.h"
#include "internal/pycore_obmalloc.h"

static int first = 1;
#define OUT(name, value)                                                    \
  do {                                                                      \
    printf("%s\"%s\": %ld", first ? "{" : ", ", name, (long)(value));       \
    first = 0;                                                              \
  } while (0)
#define MGMT(field) (offsetof(struct _obmalloc_state, mgmt) + offsetof(struct _obmalloc_mgmt, field))

int main(void) {
  OUT("interp.obmalloc", offsetof(PyInterpreterState, obmalloc));
  OUT("obmalloc.narenas_currently_allocated", MGMT(narenas_currently_allocated));
  OUT("obmalloc.ntimes_arena_allocated", MGMT(ntimes_arena_allocated));
  OUT("obmalloc.narenas_highwater", MGMT(narenas_highwater));
  OUT("arena.size", ARENA_SIZE);
  printf("}\n");
  return 0;
}
