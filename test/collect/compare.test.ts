import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSetup, prepareSetups } from '../../src/collect/compare.js';

test('glibc-arenaN sets arena_max to N', () => {
  assert.deepEqual(parseSetup('glibc-arena2'), { label: 'glibc-arena2', allocator: 'glibc', settings: { arenaMax: 2 } });
  assert.throws(() => parseSetup('glibc-arena0'), /unknown allocator/);
});

test('an allocator whose library is missing is left out with the apt-get line', () => {
  const { ready, missing } = prepareSetups([parseSetup('glibc-arena2'), parseSetup('jemalloc')], { PATH: '/bin' }, ['/nonexistent']);
  assert.deepEqual(
    ready.map((r) => [r.label, r.env.set]),
    [['glibc-arena2', { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }]],
  );
  assert.deepEqual(missing, [{ label: 'jemalloc', reason: 'jemalloc is not installed: apt-get install libjemalloc2' }]);
});
