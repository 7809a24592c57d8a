import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hugePagesEnv, type HugePagesContext } from '../../src/util/hugePages.js';

const base: HugePagesContext = { env: {}, thp: 'always [madvise] never\n', script: '/opt/memwhy/dist/memwhy.cjs', inputBytes: 500 << 20 };

test('a big input in THP madvise mode runs again with glibc asked for huge pages, keeping other tunables', () => {
  assert.equal(hugePagesEnv(base)?.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
  assert.equal(hugePagesEnv({ ...base, env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' } })?.GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  assert.equal(hugePagesEnv({ ...base, env: { PATH: '/bin' } })?.PATH, '/bin');
});

test('no second run: small input, THP always or never, already set, turned off, or a single executable', () => {
  assert.equal(hugePagesEnv({ ...base, inputBytes: 10 << 20 }), undefined);
  assert.equal(hugePagesEnv({ ...base, thp: '[always] madvise never' }), undefined);
  assert.equal(hugePagesEnv({ ...base, thp: 'always madvise [never]' }), undefined);
  assert.equal(hugePagesEnv({ ...base, thp: undefined }), undefined);
  // The second node has it: never a third.
  assert.equal(hugePagesEnv({ ...base, env: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' } }), undefined);
  assert.equal(hugePagesEnv({ ...base, env: { MEMWHY_HUGE_PAGES: 'off' } }), undefined);
  assert.equal(hugePagesEnv({ ...base, script: '/usr/local/bin/memwhy' }), undefined);
  assert.equal(hugePagesEnv({ ...base, inputBytes: 0, env: { MEMWHY_HUGE_PAGES_FROM: '0' } })?.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
});
