import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sparkline } from '../../src/report/sparkline.js';

test('an empty series draws nothing', () => {
  assert.equal(sparkline([]), '');
  assert.equal(sparkline([], 10), '');
});

test('a ramp uses every bar from lowest to highest', () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([70, 60, 50, 40, 30, 20, 10, 0]), '█▇▆▅▄▃▂▁');
});

test('a flat series draws a level middle row', () => {
  assert.equal(sparkline([5, 5, 5]), '▄▄▄');
  assert.equal(sparkline([42]), '▄');
});

test('the scale spans the series min to max, not zero to max', () => {
  assert.equal(sparkline([1000, 1007]), '▁█');
});

test('a long series is averaged down to the width', () => {
  // Pairs average to 0.5, 2.5, ..., 14.5: an even ramp again.
  const values = Array.from({ length: 16 }, (_, i) => i);
  assert.equal(sparkline(values, 8), '▁▂▃▄▅▆▇█');
  // A single spike is averaged with its bucket, not dropped.
  assert.equal(sparkline([0, 0, 0, 8, 0, 0], 3), '▁█▁');
});

test('uneven buckets still give exactly width characters', () => {
  for (const n of [9, 61, 100, 1001]) {
    assert.equal(
      [
        ...sparkline(
          Array.from({ length: n }, (_, i) => Math.sin(i)),
          60,
        ),
      ].length,
      Math.min(n, 60),
    );
  }
});

test('a width wider than the series leaves it as it is', () => {
  assert.equal(sparkline([0, 7], 60), '▁█');
});
