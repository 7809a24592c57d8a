/**
 * The cache of compiled agent modules holds code that runs inside targets:
 * it is read only from a directory and files that are memwhy's user's
 * alone, a different Python or source never meets an old file, and it can
 * be turned off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, cacheKey, CompiledCache } from '../../src/attach/compiledCache.js';
import { interpreters } from '../helpers/pythons.js';
import { tempDir } from '../helpers/tempDir.js';

const python = interpreters()[0]!.path;

test('what one run puts, the next gets; another source or Python gets another key', () => {
  const dir = join(tempDir('memwhy-cache-'), 'memwhy');
  const key = cacheKey(python, 'script', 'agent', 'x = 1\n');
  new CompiledCache(dir).put(key, Buffer.from('data'));
  assert.equal(new CompiledCache(dir).get(key)?.toString(), 'data');
  assert.notEqual(cacheKey(python, 'script', 'agent', 'x = 2\n'), key, 'another source');
  assert.notEqual(cacheKey(python, 'other script', 'agent', 'x = 1\n'), key, 'another compiler script');
  const copy = join(tempDir('memwhy-cache-py-'), 'python');
  copyFileSync(python, copy);
  assert.notEqual(cacheKey(copy, 'script', 'agent', 'x = 1\n'), key, 'another Python');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
    'no temporary file left',
  );
});

test('nothing is read from a directory or a file someone else could have written', () => {
  const dir = join(tempDir('memwhy-cache-'), 'memwhy');
  const cache = new CompiledCache(dir);
  const key = cacheKey(python, 'script', 'agent', 'x = 1\n');
  cache.put(key, Buffer.from('data'));
  chmodSync(join(dir, `${key}.marshal`), 0o644);
  assert.equal(cache.get(key), undefined, 'a file others can read or write');
  chmodSync(join(dir, `${key}.marshal`), 0o600);
  chmodSync(dir, 0o770);
  assert.equal(cache.get(key), undefined, 'a directory its group can write');
  chmodSync(dir, 0o700);
  if (process.geteuid?.() === 0) {
    chownSync(join(dir, `${key}.marshal`), 65534, 65534);
    assert.equal(cache.get(key), undefined, "another user's file");
    chownSync(join(dir, `${key}.marshal`), 0, 0);
  }
  assert.equal(cache.get(key)?.toString(), 'data');
});

test('MEMWHY_CACHE_DIR moves it or turns it off; by default it is under the user cache', () => {
  assert.equal(cacheDir({ MEMWHY_CACHE_DIR: 'off' }), undefined);
  assert.equal(cacheDir({ MEMWHY_CACHE_DIR: '/x/y' }), '/x/y');
  assert.equal(cacheDir({ XDG_CACHE_HOME: '/c' }), '/c/memwhy');
  const off = new CompiledCache(undefined);
  off.put('k', Buffer.from('d'));
  assert.equal(off.get('k'), undefined);
});
