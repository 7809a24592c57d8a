import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTable } from '../../src/report/table.js';

test('a table pads columns, right-aligns numbers and leaves text left-aligned', () => {
  const out = renderTable(
    [{ header: 'PID' }, { header: 'NAME' }, { header: 'RSS' }, { header: 'COMMAND' }],
    [
      ['7', 'root', '212.4 MiB', 'python3 app.py'],
      ['12345', 'www-data', '3 KiB', 'python2.7 -m worker'],
    ],
  );
  assert.equal(out, ['  PID  NAME            RSS  COMMAND', '    7  root      212.4 MiB  python3 app.py', '12345  www-data      3 KiB  python2.7 -m worker', ''].join('\n'));
});

test('a column can force its alignment, and an empty table is just the header', () => {
  assert.equal(
    renderTable(
      [
        { header: 'A', align: 'right' },
        { header: 'VERSION', align: 'left' },
      ],
      [['x', '3']],
    ),
    'A  VERSION\nx  3\n',
  );
  assert.equal(renderTable([{ header: 'PID' }, { header: 'CMD' }], []), 'PID  CMD\n');
});

test('lines longer than the width are cut with an ellipsis', () => {
  const out = renderTable([{ header: 'PID' }, { header: 'COMMAND' }], [['1', 'python3 ' + 'x'.repeat(100)]], { width: 20 });
  const lines = out.trimEnd().split('\n');
  assert.equal(lines[1], '  1  python3 xxxxxx…');
  assert.ok(lines.every((l) => l.length <= 20));
});
