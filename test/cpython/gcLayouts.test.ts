import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpreters } from '../helpers/pythons.js';
import { probeSkip, runProbe } from '../helpers/headerProbe.js';
import { GC_LAYOUTS, gcLayoutFor, type GcLayout } from '../../src/cpython/gcLayouts.js';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'gc_layout_probe.c');

/** The table's entry under the names gc_layout_probe.c prints. */
function flatten(l: GcLayout): Record<string, number> {
  return {
    [l.home === 'runtime' ? 'runtime.gc' : 'interp.gc']: l.offset,
    'gc.enabled': l.enabled,
    'gc.generations': l.generations,
    'generation.size': l.generationSize,
    'generation.threshold': l.threshold,
    'generation.count': l.count,
    'gc.generation_stats': l.stats,
    'stats.size': l.statsSize,
    'stats.collections': l.collections,
    'stats.collected': l.collected,
    'stats.uncollectable': l.uncollectable,
    'gc.collecting': l.collecting,
    'gc.garbage': l.garbage,
  };
}

for (const py of interpreters()) {
  const layout = gcLayoutFor(py);
  test(
    `the collector layout matches offsetof() in ${py.label}'s headers`,
    { skip: probeSkip(py, !layout && `no collector layout for ${py.version} (2.7 and 3.6 keep it in static variables: test/collect/gcMemory.test.ts checks those)`, 'internal') },
    () => {
      assert.deepEqual(flatten(layout!), runProbe(PROBE, py));
    },
  );
}

test('every collector layout is for a distinct minor version', () => {
  const keys = GC_LAYOUTS.map((l) => `${l.major}.${l.minor}`);
  assert.equal(new Set(keys).size, keys.length);
});
