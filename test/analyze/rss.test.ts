import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeRss } from '../../src/analyze/rss.js';
import type { MemorySample } from '../../src/collect/rss.js';

function sample(tMs: number, rss: number): MemorySample {
  return { t: tMs, rss, pss: rss, uss: rss, anon: rss, file: 0, shmem: 0, swap: 0, swap_pss: 0, threads: 1, fds: 3 };
}

test('no samples have no summary', () => {
  assert.equal(summarizeRss([]), undefined);
});

test('one sample has start, end and no slope', () => {
  assert.deepEqual(summarizeRss([sample(1000, 5)]), {
    rss_start: 5,
    rss_end: 5,
    rss_min: 5,
    rss_max: 5,
    elapsed_s: 0,
    slope_bytes_per_s: null,
    r2: null,
  });
});

test('the slope of RSS is in bytes per second of sample time', () => {
  const t0 = 1_795_767_186_183;
  const s = summarizeRss([sample(t0, 1000), sample(t0 + 500, 900), sample(t0 + 1000, 3000), sample(t0 + 2000, 5000)])!;
  assert.equal(s.rss_start, 1000);
  assert.equal(s.rss_end, 5000);
  assert.equal(s.rss_min, 900);
  assert.equal(s.rss_max, 5000);
  assert.equal(s.elapsed_s, 2);
  assert.ok(s.slope_bytes_per_s! > 1500 && s.slope_bytes_per_s! < 2500);
  assert.ok(s.r2! > 0.8 && s.r2! < 1);
});
