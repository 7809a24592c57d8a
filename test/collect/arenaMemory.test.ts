import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { ArenaMemoryProbe } from '../../src/collect/arenaMemory.js';
import { ARENA_SYMBOLS, arenaLayoutFor } from '../../src/cpython/arenaLayouts.js';
import { describePython } from '../../src/target/python.js';
import { ElfFile } from '../../src/target/elf.js';

/** The arena lines of sys._debugmallocstats(), once the target has written them. */
async function printedArenas(stderr: () => string): Promise<Record<string, number>> {
  for (let i = 0; i < 100 && !/bytes\/arena/.test(stderr()); i++) await sleep(50);
  const text = stderr();
  const figure = (label: string): number => Number(new RegExp(`# arenas ${label}\\s*=\\s*([\\d,]+)`).exec(text)![1]!.replace(/,/g, ''));
  return {
    current: figure('allocated current'),
    total: figure('allocated total'),
    highwater: figure('highwater mark'),
    arenaSize: Number(/\d+ arenas \* (\d+) bytes\/arena/.exec(text)![1]),
  };
}

function hasArenaSymbols(path: string): boolean {
  const elf = ElfFile.open(path);
  try {
    return ARENA_SYMBOLS.every((name) => elf.symbol(name) !== undefined);
  } finally {
    elf.close();
  }
}

for (const py of interpreters()) {
  const layout = arenaLayoutFor(py);
  const skip = !layout && `no arena layout for ${py.version} (2.7 keeps only one counter and has no sys._debugmallocstats() to check it)`;
  test(`pymalloc's arena counters read from ${py.label}'s memory equal what sys._debugmallocstats() printed`, { skip }, async (t) => {
    const target = await startTarget(py.path, ['arenas_churn_then_sleep.py']);
    try {
      const printed = await printedArenas(() => target.stderr());
      const python = describePython(target.pid);
      const probe = ArenaMemoryProbe.open(python);
      if (layout!.home === 'statics' && !hasArenaSymbols(python.interpreterElf)) {
        assert.equal(probe, undefined, `${python.interpreterElf} is stripped: no probe`);
        t.skip(`${python.interpreterElf} has no symbol table entries for obmalloc.c's arena statics (stripped)`);
        return;
      }
      assert.ok(probe, `a probe for ${py.version}`);
      try {
        const read = probe.read();
        assert.deepEqual({ ...read }, printed);
        assert.ok(read.total > read.current && read.highwater > read.current, `the fixture churned arenas: ${JSON.stringify(read)}`);
      } finally {
        probe.close();
      }
    } finally {
      await target.kill();
    }
  });
}
