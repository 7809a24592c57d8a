import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRun, summarizeComparison, timeWeightedMean, type RunRecord } from '../../src/analyze/compare.js';
import { median } from '../../src/analyze/trend.js';

test('the time-weighted mean weighs a long plateau more than a brief spike', () => {
  // 1 s at 100, a 0.1 s spike to 1000, then 0.9 s back at 100.
  const samples = [
    [0, 100],
    [1, 100],
    [1.05, 1000],
    [1.1, 100],
    [2, 100],
  ] as const;
  // Trapezoids: 100 + 27.5 + 27.5 + 90 = 245 over 2 s; the plain mean of the samples would be 280.
  assert.ok(Math.abs(timeWeightedMean(samples) - 122.5) < 1e-9);
  assert.equal(timeWeightedMean([[0, 7]]), 7);
  assert.equal(timeWeightedMean([]), 0);
});

test('a run peaks at the kernel high-water mark when sampling missed it, and ends at its last sample', () => {
  const run = describeRun({
    allocator: 'glibc',
    exit_code: 0,
    wall_s: 2,
    samples: [
      [0, 10],
      [1, 50],
      [2, 40],
    ],
    hwm: 80,
  });
  assert.equal(run.peak_rss, 80);
  assert.equal(run.final_rss, 40);
  assert.equal(run.mean_rss, 38);
});

test('the median of an even count is the mean of the middle two', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

function record(allocator: string, mean: number, exit = 0): RunRecord {
  return { allocator, peak_rss: mean * 2, final_rss: mean, mean_rss: mean, wall_s: 1, exit_code: exit, samples: [] };
}

test('the summary keeps the order given, takes medians and marks the lowest mean of clean runs', () => {
  const rows = summarizeComparison([record('glibc', 200), record('jemalloc', 90), record('tcmalloc', 10, 1), record('glibc', 100), record('jemalloc', 110), record('tcmalloc', 20)]);
  assert.deepEqual(
    rows.map((r) => [r.allocator, r.runs, r.mean_rss, r.lowest_mean]),
    [
      ['glibc', 2, 150, false],
      ['jemalloc', 2, 100, true],
      // A run that failed may have stopped before using memory: it cannot win.
      ['tcmalloc', 2, 15, false],
    ],
  );
  assert.equal(rows[1]!.mean_vs_first!.toFixed(3), (100 / 150 - 1).toFixed(3));
  assert.equal(rows[0]!.mean_vs_first, 0);
});
