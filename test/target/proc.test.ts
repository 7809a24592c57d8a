import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { countOpenFds, parseSmapsRollup, readSmapsRollup, readStatus } from '../../src/target/proc.js';

const ROLLUP = `55d0c0a00000-7ffd6a1ff000 ---p 00000000 00:00 0                          [rollup]
Rss:               13600 kB
Pss:               11737 kB
Pss_Anon:           6868 kB
Pss_File:           4869 kB
Shared_Clean:       2008 kB
Shared_Dirty:          0 kB
Private_Clean:      4700 kB
Private_Dirty:      6892 kB
Swap:                 12 kB
SwapPss:               8 kB
`;

test('smaps_rollup gives PSS, and USS as private clean plus private dirty', () => {
  assert.deepEqual(parseSmapsRollup(ROLLUP), {
    rss: 13600 * 1024,
    pss: 11737 * 1024,
    uss: (4700 + 6892) * 1024,
    swap: 12 * 1024,
    swapPss: 8 * 1024,
  });
  assert.throws(() => parseSmapsRollup('nothing'), /no Pss/);
});

test("this process's smaps_rollup agrees with its status within what changed between the reads", () => {
  const rollup = readSmapsRollup(process.pid);
  const status = readStatus(process.pid);
  assert.ok(rollup.uss > 0 && rollup.uss <= rollup.rss);
  assert.ok(rollup.pss <= rollup.rss);
  assert.ok(Math.abs(rollup.rss - status.vmRss) < status.vmRss / 2, `${rollup.rss} vs ${status.vmRss}`);
});

test('open fds count one more after opening a file', () => {
  const before = countOpenFds(process.pid);
  const fd = openSync('/proc/self/stat', 'r');
  try {
    assert.equal(countOpenFds(process.pid), before + 1);
  } finally {
    closeSync(fd);
  }
});
