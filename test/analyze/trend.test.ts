/** Theil-Sen and Mann-Kendall on small series, with exact values to check against. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mannKendall, theilSenSlope } from '../../src/analyze/trend.js';
import { seeded } from '../helpers/seeded.js';

test('Theil-Sen ignores one wild point that tilts least squares', () => {
  const points = [0, 1, 2, 3, 4, 5, 6].map((t) => ({ t_s: t, v: 10 * t }));
  points[3] = { t_s: 3, v: 1000 };
  assert.equal(theilSenSlope(points), 10);
  assert.equal(theilSenSlope([{ t_s: 1, v: 5 }]), undefined);
});

test('Mann-Kendall: five censuses each higher than the last rise at p = 1/120', () => {
  const mk = mannKendall([1, 2, 3, 4, 5]);
  assert.equal(mk.s, 10);
  assert.equal(mk.trend, 'up');
  assert.ok(Math.abs(mk.p_up - 1 / 120) < 1e-12, String(mk.p_up));
});

test('Mann-Kendall: one dip in five still rises (p = 5/120); two dips do not (14/120)', () => {
  const one = mannKendall([1, 3, 2, 4, 5]);
  assert.ok(Math.abs(one.p_up - 5 / 120) < 1e-12);
  assert.equal(one.trend, 'up');
  const two = mannKendall([2, 1, 4, 3, 5]);
  assert.ok(Math.abs(two.p_up - 14 / 120) < 1e-12);
  assert.equal(two.trend, 'none');
});

test('Mann-Kendall: a batch that comes and goes is no trend; a falling series falls', () => {
  assert.equal(mannKendall([100, 100, 900, 100, 100]).trend, 'none');
  assert.equal(mannKendall([5, 4, 3, 2, 1]).trend, 'down');
});

test('Mann-Kendall finds a slow climb under jitter ten times its step (30 samples)', () => {
  const rnd = seeded(7);
  // 100 KiB/s for 30 s under +-2 MiB of jitter.
  const values = Array.from({ length: 30 }, (_, i) => 50e6 + i * 100 * 1024 + (rnd() - 0.5) * 4 * 1024 * 1024);
  assert.equal(mannKendall(values, 0.01).trend, 'up');
  const flat = Array.from({ length: 30 }, () => 50e6 + (rnd() - 0.5) * 4 * 1024 * 1024);
  assert.equal(mannKendall(flat, 0.01).trend, 'none');
});
