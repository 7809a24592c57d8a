import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocatorEnv, detectAllocator, locateAllocator, libraryDirs } from '../../src/collect/allocators.js';
import { UserError } from '../../src/errors.js';
import { tempDir } from '../helpers/tempDir.js';

const JE = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const TC = '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4';
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';

describe('locateAllocator', () => {
  test('glibc needs no library', () => {
    assert.deepEqual(locateAllocator('glibc', []), { name: 'glibc' });
  });

  test('a missing library fails with the apt-get line that installs it', () => {
    const cases = [
      ['jemalloc', 'jemalloc is not installed: apt-get install libjemalloc2'],
      ['tcmalloc', 'tcmalloc is not installed: apt-get install libtcmalloc-minimal4'],
      ['mimalloc', 'mimalloc is not installed: apt-get install libmimalloc2.0'],
    ] as const;
    for (const [name, message] of cases) {
      assert.throws(
        () => locateAllocator(name, ['/nonexistent/lib']),
        (err: unknown) => err instanceof UserError && err.message === message,
      );
    }
  });

  test('searches the directories in order and takes the first that has the library', () => {
    const a = tempDir('memwhy-lib-a-');
    const b = tempDir('memwhy-lib-b-');
    writeFileSync(join(b, 'libtcmalloc.so.4'), '');
    writeFileSync(join(a, 'libtcmalloc.so.4'), '');
    writeFileSync(join(b, 'libtcmalloc_minimal.so.4'), '');
    // The minimal build is preferred over the full one wherever it is.
    assert.deepEqual(locateAllocator('tcmalloc', [a, b]), { name: 'tcmalloc', library: join(b, 'libtcmalloc_minimal.so.4') });
  });

  test('the default search path starts with the multiarch directory', () => {
    if (process.arch === 'x64') assert.equal(libraryDirs()[0], '/usr/lib/x86_64-linux-gnu');
  });
});

describe('allocatorEnv', () => {
  test('preloads the library and keeps other preloads after it', () => {
    const base = { PATH: '/bin', LD_PRELOAD: '/opt/libhook.so' };
    const out = allocatorEnv({ name: 'jemalloc', library: JE }, {}, base);
    assert.equal(out.env.LD_PRELOAD, `${JE} /opt/libhook.so`);
    assert.equal(out.env.PATH, '/bin');
    assert.deepEqual(out.set, { LD_PRELOAD: `${JE} /opt/libhook.so` });
    assert.equal(base.LD_PRELOAD, '/opt/libhook.so', 'the base environment is not changed');
  });

  test('drops another allocator inherited in LD_PRELOAD', () => {
    const out = allocatorEnv({ name: 'jemalloc', library: JE }, {}, { LD_PRELOAD: `${TC}:/opt/libhook.so` });
    assert.equal(out.env.LD_PRELOAD, `${JE} /opt/libhook.so`);
    assert.deepEqual(out.droppedPreloads, [TC]);
  });

  test('glibc removes an inherited allocator preload and sets nothing else', () => {
    const out = allocatorEnv({ name: 'glibc' }, {}, { LD_PRELOAD: TC, HOME: '/root' });
    assert.equal(out.env.LD_PRELOAD, undefined);
    assert.deepEqual(out.unset, ['LD_PRELOAD']);
    assert.deepEqual(out.set, {});
    assert.deepEqual(allocatorEnv({ name: 'glibc' }, {}, { HOME: '/root' }).set, {});
  });

  test('glibc settings become tunables, in the order arena_max then trim_threshold', () => {
    const out = allocatorEnv({ name: 'glibc' }, { arenaMax: 2, trimThreshold: 131072 }, {});
    assert.equal(out.env.GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072');
  });

  test('glibc settings merge into an existing GLIBC_TUNABLES, replacing the same tunable', () => {
    const base = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=8:glibc.pthread.rseq=0', MALLOC_ARENA_MAX: '8' };
    const out = allocatorEnv({ name: 'glibc' }, { arenaMax: 2 }, base);
    assert.equal(out.env.GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.pthread.rseq=0');
    // The environment alias would compete with the tunable.
    assert.equal(out.env.MALLOC_ARENA_MAX, undefined);
    assert.deepEqual(out.unset, ['MALLOC_ARENA_MAX']);
  });

  test('glibc settings under another allocator are refused', () => {
    assert.throws(() => allocatorEnv({ name: 'tcmalloc', library: TC }, { arenaMax: 2 }, {}), UserError);
  });

  test('an arena count of 0 is refused', () => {
    assert.throws(() => allocatorEnv({ name: 'glibc' }, { arenaMax: 0 }, {}), /at least 1/);
  });
});

describe('detectAllocator', () => {
  const noEnv = new Map<string, string>();

  test('a plain process is served by glibc', () => {
    assert.deepEqual(detectAllocator(['/usr/bin/python3.11', LIBC, '[heap]', ''], noEnv), { name: 'glibc', via: 'default', notLoaded: [] });
  });

  test('a preloaded and mapped allocator serves malloc', () => {
    const env = new Map([['LD_PRELOAD', JE]]);
    assert.deepEqual(detectAllocator([LIBC, JE], env), { name: 'jemalloc', library: JE, via: 'LD_PRELOAD', notLoaded: [] });
  });

  test('the first preloaded allocator wins over one mapped later', () => {
    const env = new Map([['LD_PRELOAD', `libtcmalloc_minimal.so.4 ${JE}`]]);
    assert.equal(detectAllocator([JE, TC, LIBC], env).name, 'tcmalloc');
  });

  test('an allocator mapped without a preload is reported as mapped', () => {
    const mi = '/usr/lib/x86_64-linux-gnu/libmimalloc.so.2 (deleted)';
    assert.deepEqual(detectAllocator([LIBC, mi], noEnv), {
      name: 'mimalloc',
      library: '/usr/lib/x86_64-linux-gnu/libmimalloc.so.2',
      via: 'mapped',
      notLoaded: [],
    });
  });

  test('a preloaded symlink matches the versioned file that maps show', () => {
    const env = new Map([['LD_PRELOAD', TC]]);
    const real = '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10';
    assert.deepEqual(detectAllocator([LIBC, real], env), { name: 'tcmalloc', library: real, via: 'LD_PRELOAD', notLoaded: [] });
    const mi = '/usr/lib/x86_64-linux-gnu/libmimalloc.so.2.0';
    assert.equal(detectAllocator([LIBC, mi], new Map([['LD_PRELOAD', 'libmimalloc.so.2']])).name, 'mimalloc');
  });

  test('a preload that did not load leaves glibc and is named', () => {
    const env = new Map([['LD_PRELOAD', '/opt/missing/libjemalloc.so.2']]);
    assert.deepEqual(detectAllocator([LIBC], env), { name: 'glibc', via: 'default', notLoaded: ['libjemalloc.so.2'] });
  });

  test('no libc and no known allocator is unknown', () => {
    assert.equal(detectAllocator(['/usr/local/bin/static-tool'], noEnv).name, 'unknown');
  });
});
