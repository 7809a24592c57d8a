import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { breakdownMalloc, RETENTION_MIN_BYTES, RETENTION_SHARE, summarizeTrim } from '../../src/analyze/malloc.js';
import type { Mallinfo, MallocEvidence, PymallocStats, TrimEvidence } from '../../src/collect/malloc.js';
import type { MemorySample } from '../../src/collect/rss.js';

const MiB = 1024 * 1024;

function sample(rss: number, anon = rss - 6 * MiB): MemorySample {
  return { t: 0, rss, pss: rss, uss: rss, anon, file: rss - anon, shmem: 0, swap: 0, swap_pss: 0, threads: 5, fds: 4 };
}

const PYMALLOC: PymallocStats = {
  arenas: 4,
  arena_size: MiB,
  arena_bytes: 4 * MiB,
  allocated: 2.5 * MiB,
  available: 0.25 * MiB,
  unused_pools: MiB,
  overhead: 0.25 * MiB,
  arenas_allocated_total: 4,
  arenas_reclaimed: 0,
  arenas_highwater: 4,
};

function mallinfo(uordblks: number, fordblks: number, hblkhd = 0): Mallinfo {
  return { arena: uordblks + fordblks, ordblks: 10, smblks: 0, hblks: hblkhd > 0 ? 1 : 0, hblkhd, usmblks: 0, fsmblks: 0, uordblks, fordblks, keepcost: 0 };
}

/** A glibc process: `heapRss` resident in its heaps, the rest as given. */
function glibcEvidence(opts: { rss: number; uordblks: number; fordblks: number; heapRss: number; hblkhd?: number; traced?: number }): MallocEvidence {
  return {
    pid: 42,
    python_version: '3.11.2',
    memory: sample(opts.rss),
    mappings: {
      thread_stacks: { count: 4, rss: 100 * 1024 },
      main_stack_rss: 60 * 1024,
      glibc_heaps: { count: 5, rss: opts.heapRss, main_rss: MiB },
    },
    detected: { name: 'glibc', via: 'default', notLoaded: [] },
    python: { stats: PYMALLOC, tracemalloc_traced: opts.traced ?? null },
    allocator: {
      name: 'glibc',
      glibc: { mallinfo: mallinfo(opts.uordblks, opts.fordblks, opts.hblkhd ?? 0), call: 'mallinfo2', info: null },
    },
    pause_ms: 2,
  };
}

describe('breakdownMalloc under glibc', () => {
  test('in use counts mmapped chunks; free resident is what the heaps hold beyond the bytes in use', () => {
    const b = breakdownMalloc(glibcEvidence({ rss: 206 * MiB, uordblks: 6 * MiB, fordblks: 192 * MiB, heapRss: 196 * MiB, hblkhd: MiB }));
    assert.equal(b.allocator.in_use, 7 * MiB);
    assert.equal(b.allocator.free, 192 * MiB);
    assert.equal(b.allocator.free_resident, 190 * MiB);
    assert.equal(b.python.live, 2.5 * MiB);
    assert.equal(b.derived.held_free, 190.25 * MiB);
    assert.equal(b.finding.status, 'issue');
    assert.match(b.finding.summary, /glibc and pymalloc hold 190\.3 MiB free \(92 % of RSS\)/);
  });

  test('after malloc_trim the counters still say free but the heaps are no longer resident', () => {
    const b = breakdownMalloc(glibcEvidence({ rss: 25 * MiB, uordblks: 6 * MiB, fordblks: 192 * MiB, heapRss: 14 * MiB }));
    assert.equal(b.allocator.free, 192 * MiB);
    assert.equal(b.allocator.free_resident, 8 * MiB);
    assert.equal(b.finding.status, 'none');
  });

  test('free resident never exceeds the free counter', () => {
    const b = breakdownMalloc(glibcEvidence({ rss: 100 * MiB, uordblks: 10 * MiB, fordblks: 5 * MiB, heapRss: 90 * MiB }));
    assert.equal(b.allocator.free_resident, 5 * MiB);
  });

  test('other anonymous is what stacks, pymalloc and the heaps leave of anonymous RSS', () => {
    const b = breakdownMalloc(glibcEvidence({ rss: 100 * MiB, uordblks: 10 * MiB, fordblks: 80 * MiB, heapRss: 85 * MiB, hblkhd: MiB }));
    // anon = 94 MiB; stacks 160 KiB; pymalloc 4 MiB; heaps 85 MiB + 1 MiB mmapped.
    assert.equal(b.derived.other_anon, 94 * MiB - 160 * 1024 - 4 * MiB - 86 * MiB);
  });

  test('with tracemalloc running, native memory outside Python is in use minus Python allocations in malloc', () => {
    const b = breakdownMalloc(glibcEvidence({ rss: 50 * MiB, uordblks: 20 * MiB, fordblks: MiB, heapRss: 21 * MiB, traced: 12.5 * MiB }));
    assert.equal(b.derived.python_in_malloc, 10 * MiB);
    assert.equal(b.derived.native_outside_python, 10 * MiB);
  });

  test('without tracemalloc, native memory outside Python is unknown rather than guessed', () => {
    const b = breakdownMalloc(glibcEvidence({ rss: 50 * MiB, uordblks: 20 * MiB, fordblks: MiB, heapRss: 21 * MiB }));
    assert.equal(b.derived.native_in_use, 20 * MiB);
    assert.equal(b.derived.native_outside_python, null);
    assert.equal(b.python.large_objects, null);
  });
});

describe('the retention finding', () => {
  // held = free resident + pymalloc's 0.25 MiB of free blocks.
  const withHeld = (rss: number, held: number) => breakdownMalloc(glibcEvidence({ rss, uordblks: 0, fordblks: held, heapRss: held - 0.25 * MiB })).finding;

  test(`is an issue at ${RETENTION_SHARE * 100} % of RSS and ${RETENTION_MIN_BYTES / MiB} MiB`, () => {
    assert.equal(withHeld(RETENTION_MIN_BYTES / RETENTION_SHARE, RETENTION_MIN_BYTES).status, 'issue');
  });

  test('is not just under the share', () => {
    const rss = RETENTION_MIN_BYTES / RETENTION_SHARE + MiB;
    const f = withHeld(rss, RETENTION_MIN_BYTES);
    assert.equal(f.status, 'none');
    assert.ok(f.numbers.retention! < RETENTION_SHARE);
  });

  test('is not under the byte floor however large the share', () => {
    const f = withHeld(20 * MiB, 15 * MiB);
    assert.equal(f.status, 'none');
    assert.ok(f.numbers.retention! > 0.7);
  });

  test('carries the numbers that decided it', () => {
    const f = withHeld(200 * MiB, 150 * MiB);
    assert.deepEqual(Object.keys(f.numbers).sort(), ['allocator_free_resident', 'bytes_threshold', 'held_free', 'pymalloc_free', 'retention', 'rss', 'share_threshold']);
    assert.equal(f.numbers.held_free, 150 * MiB);
  });
});

describe('breakdownMalloc under other allocators', () => {
  const base = (allocator: MallocEvidence['allocator'], name: 'jemalloc' | 'tcmalloc' | 'mimalloc'): MallocEvidence => ({
    ...glibcEvidence({ rss: 258 * MiB, uordblks: 0, fordblks: 0, heapRss: 0 }),
    detected: { name, library: `/usr/lib/lib${name}.so`, via: 'LD_PRELOAD', notLoaded: [] },
    mappings: { thread_stacks: { count: 0, rss: 0 }, main_stack_rss: 0, glibc_heaps: { count: 0, rss: 0, main_rss: 0 } },
    allocator,
  });

  test('jemalloc: free is resident minus allocated minus metadata', () => {
    const b = breakdownMalloc(
      base(
        {
          name: 'jemalloc',
          jemalloc: {
            'stats.allocated': 7 * MiB,
            'stats.active': 10 * MiB,
            'stats.metadata': 3 * MiB,
            'stats.resident': 250 * MiB,
            'stats.mapped': 260 * MiB,
            'stats.retained': MiB,
            'arenas.narenas': 8,
          },
        },
        'jemalloc',
      ),
    );
    assert.deepEqual([b.allocator.in_use, b.allocator.free, b.allocator.free_resident, b.allocator.arenas], [7 * MiB, 240 * MiB, 240 * MiB, 8]);
    assert.equal(b.finding.status, 'issue');
  });

  test('tcmalloc: free is the heap minus allocated minus pages already unmapped', () => {
    const b = breakdownMalloc(
      base(
        {
          name: 'tcmalloc',
          tcmalloc: { 'generic.current_allocated_bytes': 5 * MiB, 'generic.heap_size': 80 * MiB, 'tcmalloc.pageheap_unmapped_bytes': 10 * MiB },
        },
        'tcmalloc',
      ),
    );
    assert.deepEqual([b.allocator.in_use, b.allocator.free, b.allocator.system], [5 * MiB, 65 * MiB, 70 * MiB]);
  });

  test('mimalloc: no in-use counter, so retention is insufficient data and says why', () => {
    const b = breakdownMalloc(
      base(
        {
          name: 'mimalloc',
          unknown: 'mimalloc keeps no bytes-in-use counter in release builds',
          mimalloc: { current_commit: 130 * MiB },
        },
        'mimalloc',
      ),
    );
    assert.equal(b.allocator.in_use, null);
    assert.equal(b.allocator.system, 130 * MiB);
    assert.equal(b.finding.status, 'insufficient-data');
    assert.match(b.finding.summary, /no bytes-in-use counter/);
  });

  test('Python without pymalloc (2.7, PYTHONMALLOC=malloc) leaves python.live null and says why', () => {
    const e = glibcEvidence({ rss: 10 * MiB, uordblks: 2 * MiB, fordblks: MiB, heapRss: 3 * MiB });
    const b = breakdownMalloc({ ...e, python: { stats: null, unknown: 'Python 2.7 has no sys._debugmallocstats', tracemalloc_traced: null } });
    assert.equal(b.python.live, null);
    assert.equal(b.python.unknown, 'Python 2.7 has no sys._debugmallocstats');
    assert.equal(b.derived.held_free, MiB);
  });
});

describe('summarizeTrim', () => {
  test('released is RSS before minus after, with the pause from inside the target', () => {
    const t: TrimEvidence = {
      pid: 42,
      allocator: 'glibc',
      before: sample(208 * MiB),
      after: sample(25 * MiB),
      settle_ms: 200,
      agent: { call: 'malloc_trim(0)', result: 1, pause_ms: 780, gc: null },
    };
    const s = summarizeTrim(t);
    assert.deepEqual([s.rss_before, s.rss_after, s.released, s.pause_ms], [208 * MiB, 25 * MiB, 183 * MiB, 780]);
    assert.ok(Math.abs(s.released_share - 183 / 208) < 1e-9);
  });
});
