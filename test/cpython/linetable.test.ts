import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES } from '../helpers/target.js';
import { layoutFor } from '../../src/cpython/layouts.js';
import { lineForOffset } from '../../src/cpython/linetable.js';

interface Case {
  name: string;
  first: number;
  table: string;
  lines: [number, number | null][];
}

for (const py of interpreters()) {
  const layout = layoutFor(py);
  if (!layout) {
    test(`line tables of ${py.label}`, { skip: `no layout for ${py.version}` }, () => {});
    continue;
  }
  test(`line table decoder agrees with ${py.label} on every instruction of three stdlib modules`, () => {
    const out = execFileSync(py.path, [join(FIXTURES, 'dump_line_tables.py')], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      timeout: 60_000,
    });
    const cases = JSON.parse(out) as Case[];
    let checked = 0;
    for (const c of cases) {
      const table = Buffer.from(c.table, 'hex');
      for (const [offset, line] of c.lines) {
        const got = lineForOffset(layout.code.lineTable, table, c.first, offset);
        if (got !== line) assert.fail(`${c.name} offset ${offset}: decoded ${got}, interpreter says ${line}`);
        checked++;
      }
    }
    assert.ok(checked > 1000, `only ${checked} offsets checked`);
  });
}

test('a frame that has not started reports its first line', () => {
  assert.equal(lineForOffset('locations', Buffer.alloc(0), 42, -2), 42);
});
