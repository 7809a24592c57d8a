import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { GcMemoryProbe, findStatics } from '../../src/collect/gcMemory.js';
import { staticGcLayoutFor, type StaticGcLayout } from '../../src/cpython/gcLayouts.js';
import { describePython } from '../../src/target/python.js';
import { ElfFile } from '../../src/target/elf.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Printed {
  count: number[];
  threshold: number[];
  stats: { collections: number; collected: number; uncollectable: number }[] | null;
  enabled: boolean;
  garbage: number;
}

function hasGcStatics(path: string, layout: StaticGcLayout): boolean {
  const elf = ElfFile.open(path);
  try {
    return findStatics(elf, layout) !== undefined;
  } finally {
    elf.close();
  }
}

for (const py of interpreters()) {
  test(`the collector's counters read from ${py.label}'s memory equal what its gc module printed`, async (t) => {
    const target = await startTarget(py.path, ['gc_settings_then_sleep.py']);
    try {
      const printed = JSON.parse(/^ready (.*)$/m.exec(target.stdout())![1]!) as Printed;
      const python = describePython(target.pid);
      const probe = GcMemoryProbe.open(python);
      const statics = staticGcLayoutFor(py);
      if (statics && !hasGcStatics(python.interpreterElf, statics)) {
        assert.equal(probe, undefined, `${python.interpreterElf} is stripped: no probe`);
        t.skip(`${python.interpreterElf} has no symbol table entries for gcmodule.c's statics (stripped)`);
        return;
      }
      assert.ok(probe, `a probe for ${py.version}`);
      try {
        const state = probe.read();
        assert.deepEqual(
          state.generations.map((g) => g.threshold),
          printed.threshold,
        );
        assert.equal(state.enabled, printed.enabled);
        assert.equal(state.enabled, false);
        assert.equal(state.garbage, 3);
        assert.equal(state.collecting, false);
        assert.deepEqual(
          state.generations.map((g) => g.threshold),
          [123, 7, 5],
        );
        // Generation 0's count moves with every allocation after the print (the print itself allocates); the older ones do not.
        assert.deepEqual(
          state.generations.slice(1).map((g) => g.count),
          printed.count.slice(1),
        );
        assert.ok(Math.abs(state.generations[0]!.count - printed.count[0]!) < 200, `count ${state.generations[0]!.count} vs ${printed.count[0]}`);
        if (printed.stats === null) {
          // 2.7 has no gc.get_stats() and keeps no per-generation statistics: none read, so watch exports none.
          assert.ok(
            state.generations.every((g) => g.collections === undefined && g.collected === undefined && g.uncollectable === undefined),
            '2.7 has no statistics',
          );
          return;
        }
        assert.deepEqual(
          state.generations.map((g) => ({ collections: g.collections, collected: g.collected, uncollectable: g.uncollectable })),
          printed.stats,
        );
        assert.ok(state.generations[2]!.collections! >= 2, 'the two full collections are counted');
      } finally {
        probe.close();
      }
    } finally {
      await target.kill();
    }
  });
}

for (const py of interpreters().filter((p) => staticGcLayoutFor(p))) {
  test(`${py.label} read through a stripped copy of its interpreter gets no collector probe, so watch exports no collector series`, async (t) => {
    const target = await startTarget(py.path, ['gc_settings_then_sleep.py']);
    const dir = mkdtempSync(join(tmpdir(), 'memwhy-gc-stripped-'));
    try {
      const python = describePython(target.pid);
      if (!hasGcStatics(python.interpreterElf, staticGcLayoutFor(py)!)) {
        t.skip(`${python.interpreterElf} is stripped already`);
        return;
      }
      const stripped = join(dir, 'stripped');
      execFileSync('strip', ['-o', stripped, python.interpreterElf]);
      assert.equal(GcMemoryProbe.open({ ...python, interpreterElf: stripped }), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await target.kill();
    }
  });
}
