import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpreters } from '../helpers/pythons.js';
import { tempDir } from '../helpers/tempDir.js';
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

function hasCompiler(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const compiler = hasCompiler();

for (const py of interpreters()) {
  const layout = gcLayoutFor(py);
  const include = execFileSync(py.path, ['-c', 'import sysconfig; print(sysconfig.get_paths()["include"])'], {
    encoding: 'utf8',
    timeout: 10_000,
  }).trim();
  const skip = !layout
    ? `no collector layout for ${py.version} (2.7 and 3.6 keep it in static variables)`
    : !compiler
      ? 'no C compiler'
      : !existsSync(join(include, 'internal'))
        ? `no internal headers at ${include}`
        : false;
  test(`the collector layout matches offsetof() in ${py.label}'s headers`, { skip }, () => {
    const dir = tempDir('memwhy-gc-probe-');
    try {
      const exe = join(dir, 'probe');
      execFileSync('cc', ['-w', `-I${include}`, `-I${join(include, 'internal')}`, '-o', exe, PROBE], { timeout: 60_000 });
      assert.deepEqual(flatten(layout!), JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as Record<string, number>);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('every collector layout is for a distinct minor version', () => {
  const keys = GC_LAYOUTS.map((l) => `${l.major}.${l.minor}`);
  assert.equal(new Set(keys).size, keys.length);
});
