import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpreters } from '../helpers/pythons.js';
import { probeSkip, runProbe } from '../helpers/headerProbe.js';
import { ARENA_LAYOUTS, arenaLayoutFor } from '../../src/cpython/arenaLayouts.js';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'arena_layout_probe.c');

for (const py of interpreters()) {
  const layout = arenaLayoutFor(py);
  const noLayout = layout?.home !== 'interpreter' && `${py.version} keeps its arena counters in obmalloc.c statics, which no header describes`;
  test(`the arena counters' layout matches offsetof() in ${py.label}'s headers`, { skip: probeSkip(py, noLayout, 'internal') }, () => {
    if (layout?.home !== 'interpreter') return;
    assert.deepEqual(
      {
        'interp.obmalloc': layout.obmalloc,
        'obmalloc.narenas_currently_allocated': layout.current,
        'obmalloc.ntimes_arena_allocated': layout.total,
        'obmalloc.narenas_highwater': layout.highwater,
        'arena.size': layout.arenaSize,
      },
      runProbe(PROBE, py),
    );
  });
}

test('every arena layout is for a distinct minor version', () => {
  const keys = ARENA_LAYOUTS.map((l) => `${l.major}.${l.minor}`);
  assert.equal(new Set(keys).size, keys.length);
});
