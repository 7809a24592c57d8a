import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES, startTarget } from '../helpers/target.js';
import { applyDebugOffsets, readDebugOffsets } from '../../src/cpython/debug-offsets.js';
import { layoutFor } from '../../src/cpython/layouts.js';
import { NoLayoutError, resolveLayout } from '../../src/cpython/locate.js';
import { LiveMemory } from '../../src/memory/live.js';
import { ElfFile, loadBias } from '../../src/target/elf.js';
import { readMaps } from '../../src/target/proc.js';
import { describePython } from '../../src/target/python.js';

// _Py_DebugOffsets exists from 3.13 on.
for (const py of interpreters().filter((p) => p.major === 3 && p.minor >= 13 && layoutFor(p))) {
  const base = layoutFor(py);
  test(`${py.label} publishes the same offsets in _Py_DebugOffsets as the header-derived table`, async () => {
    const target = await startTarget(py.path, [join(FIXTURES, 'threads_in_known_functions.py')]);
    const memory = LiveMemory.open(target.pid);
    try {
      const info = describePython(target.pid);
      const elf = ElfFile.open(info.interpreterElf);
      const runtime = elf.symbol('_PyRuntime')!.value + loadBias(elf, readMaps(target.pid), info.libpython ?? info.exe);
      elf.close();
      const debug = readDebugOffsets(memory, runtime);
      assert.ok(debug, 'the cookie is there');
      assert.equal(Number(debug.version >> 24n), 3);
      assert.equal(Number((debug.version >> 16n) & 0xffn), py.minor);
      assert.equal(debug.freeThreaded, false);
      assert.deepEqual(applyDebugOffsets(base!, debug), base);
    } finally {
      memory.close();
      await target.kill();
    }
  });
}

test('a version without a layout fails with one line naming it and the versions memwhy knows', () => {
  const memory = { read: () => Buffer.alloc(0) } as never;
  assert.throws(
    () => resolveLayout(memory, { major: 3, minor: 15, text: '3.15.0a1' }, {}),
    (err: unknown) =>
      err instanceof NoLayoutError &&
      err.version === '3.15.0a1' &&
      err.why === 'unknown-version' &&
      err.message.includes(err.supported) &&
      /CPython 3\.15\.0a1/.test(err.message) &&
      !err.message.includes('\n'),
  );
});
