import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyMappings, parseMallocInfo, parsePymallocStats } from '../../src/collect/malloc.js';
import { parseSmapsMappings, type SmapsMapping } from '../../src/target/proc.js';

// Recorded with src/agent/mallocstats.py: pymalloc on pyenv 3.6.15 and 3.13.0
// (idle), malloc_info from workloads/fragment.py --threads 4 --rounds 16 on
// Debian 12's python3.11 and glibc 2.36.
const RECORDED = join(dirname(fileURLToPath(import.meta.url)), 'recorded');
const recorded = (name: string): string => readFileSync(join(RECORDED, name), 'utf8');

describe('parsePymallocStats', () => {
  test('reads 3.6 figures: 256 KiB arenas, 4 KiB pools', () => {
    const s = parsePymallocStats(recorded('pymalloc-3.6.txt'))!;
    assert.equal(s.arenas, 11);
    assert.equal(s.arena_size, 262144);
    assert.equal(s.arena_bytes, 2_883_584);
    assert.equal(s.allocated, 2_597_056);
    assert.equal(s.available, 86_864);
    assert.equal(s.unused_pools, 135_168);
    assert.equal(s.overhead, 32_208 + 32_288);
    assert.deepEqual([s.arenas_allocated_total, s.arenas_reclaimed, s.arenas_highwater], [25, 14, 13]);
    assert.equal(s.allocated + s.available + s.unused_pools + s.overhead, s.arena_bytes, 'the parts add up to Total');
  });

  test('reads 3.13 figures and ignores the arena map section and its Total', () => {
    const s = parsePymallocStats(recorded('pymalloc-3.13.txt'))!;
    assert.equal(s.arenas, 3);
    assert.equal(s.arena_size, 1_048_576);
    assert.equal(s.arena_bytes, 3_145_728);
    assert.equal(s.unused_pools, 278_528);
    assert.equal(s.allocated + s.available + s.unused_pools + s.overhead, s.arena_bytes);
  });

  test('text without pymalloc figures gives null', () => {
    assert.equal(parsePymallocStats(''), null);
    assert.equal(parsePymallocStats('      8 free PyDictObjects * 48 bytes each =                  384\n'), null);
  });
});

describe('parseMallocInfo', () => {
  test('reads every arena and the totals of a fragmented process', () => {
    const info = parseMallocInfo(recorded('malloc_info-glibc2.36-4threads.xml'));
    assert.equal(info.arenas.length, 6);
    assert.deepEqual(info.arenas[0], { nr: 0, free: 330_560, system: 1_359_872 });
    assert.deepEqual(info.arenas[2], { nr: 2, free: 49_945_900, system: 50_991_104 });
    assert.equal(info.free, 201_002_052);
    assert.deepEqual(info.mmap, { count: 4, size: 626_688 });
    assert.equal(info.system, 207_249_408);
    assert.equal(
      info.arenas.reduce((sum, a) => sum + a.free, 0),
      info.free,
      'arenas add up to the total',
    );
  });

  test('skips elements it does not know and counts fastbins as free', () => {
    const xml = [
      '<malloc version="1">',
      '<heap nr="0"><sizes><size from="17" to="32" total="64" count="2"/></sizes>',
      '<total type="fast" count="2" size="64"/><total type="rest" count="1" size="100"/>',
      '<system type="current" size="4096"/><newthing type="x" size="9"/></heap>',
      '<total type="fast" count="2" size="64"/><total type="rest" count="1" size="100"/>',
      '<total type="mmap" count="0" size="0"/><system type="current" size="4096"/></malloc>',
    ].join('\n');
    assert.deepEqual(parseMallocInfo(xml), {
      arenas: [{ nr: 0, free: 164, system: 4096 }],
      free: 164,
      mmap: { count: 0, size: 0 },
      system: 4096,
    });
  });
});

function mapping(start: bigint, end: bigint, perms: string, path = '', rss = 0): SmapsMapping {
  return { start, end, perms, path, rss };
}

describe('parseSmapsMappings', () => {
  test('gives each mapping its own Rss', () => {
    const text = [
      '00a7f000-00ac4000 rw-p 00000000 00:00 0 ',
      'Size:                276 kB',
      'Rss:                  12 kB',
      '2c40a000-2c4df000 rw-p 00000000 00:00 0                                  [heap]',
      'Size:                852 kB',
      'Rss:                 800 kB',
      'VmFlags: rd wr mr mw me ac sd',
      '7f00a0000000-7f00a0021000 rw-p 00000000 fe:00 42                 /usr/lib/x86_64-linux-gnu/lib with space.so',
      'Rss:                   4 kB',
    ].join('\n');
    const maps = parseSmapsMappings(text);
    assert.deepEqual(
      maps.map((m) => [m.path, m.rss]),
      [
        ['', 12 * 1024],
        ['[heap]', 800 * 1024],
        ['/usr/lib/x86_64-linux-gnu/lib with space.so', 4096],
      ],
    );
  });
});

describe('classifyMappings', () => {
  const MiB = 1024n * 1024n;
  const heapBase = 0x7f0000000000n; // 64 MiB aligned

  test('names glibc heaps, thread stacks and the main stack, and nothing else', () => {
    const maps = [
      mapping(0x2c40a000n, 0x2c4df000n, 'rw-p', '[heap]', 800_000),
      // A thread arena's heap: read-write part, then its PROT_NONE reserve up to 64 MiB.
      mapping(heapBase, heapBase + 3n * MiB, 'rw-p', '', 3_000_000),
      mapping(heapBase + 3n * MiB, heapBase + 64n * MiB, '---p', '', 0),
      // A thread stack: one guard page, then 8 MiB.
      mapping(heapBase + 100n * MiB, heapBase + 100n * MiB + 4096n, '---p', '', 0),
      mapping(heapBase + 100n * MiB + 4096n, heapBase + 108n * MiB + 4096n, 'rw-p', '', 16_384),
      // An anonymous mapping after a large PROT_NONE reserve is not a stack.
      mapping(heapBase + 200n * MiB, heapBase + 210n * MiB, '---p', '', 0),
      mapping(heapBase + 210n * MiB, heapBase + 211n * MiB, 'rw-p', '', 1_000_000),
      // A 64 MiB-aligned anonymous mapping without a reserve that reaches the boundary is not a heap.
      mapping(heapBase + 256n * MiB, heapBase + 257n * MiB, 'rw-p', '', 500_000),
      mapping(0x7ffe00000000n, 0x7ffe00021000n, 'rw-p', '[stack]', 61_440),
    ];
    assert.deepEqual(classifyMappings(maps), {
      thread_stacks: { count: 1, rss: 16_384 },
      main_stack_rss: 61_440,
      glibc_heaps: { count: 2, rss: 3_800_000, main_rss: 800_000 },
    });
  });

  test('a heap grown to all of its 64 MiB has no reserve and still counts', () => {
    const maps = [mapping(heapBase, heapBase + 64n * MiB, 'rw-p', '', 60_000_000)];
    assert.deepEqual(classifyMappings(maps).glibc_heaps, { count: 1, rss: 60_000_000, main_rss: 0 });
  });
});
