import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastSquaresSlope, type Point } from '../../src/analyze/slope.js';
import { seeded } from '../helpers/seeded.js';

const MiB = 1024 * 1024;

test('no points or one point determine no line', () => {
  assert.equal(leastSquaresSlope([]), undefined);
  assert.equal(leastSquaresSlope([{ t_s: 1, v: 5 }]), undefined);
});

test('points all taken at one time determine no line', () => {
  assert.equal(
    leastSquaresSlope([
      { t_s: 3, v: 1 },
      { t_s: 3, v: 9 },
    ]),
    undefined,
  );
  assert.equal(leastSquaresSlope([0.1, 0.1, 0.1].map((t_s, i) => ({ t_s, v: i }))), undefined);
});

test('a constant series has slope 0 and is fitted exactly', () => {
  const points = Array.from({ length: 21 }, (_, i) => ({ t_s: i * 0.1, v: 1_957_888 }));
  assert.deepEqual(leastSquaresSlope(points), { slope: 0, intercept: 1_957_888, r2: 1 });
});

test('two points give the line through them', () => {
  const fit = leastSquaresSlope([
    { t_s: 0, v: 100 },
    { t_s: 2, v: 300 },
  ])!;
  assert.equal(fit.slope, 100);
  assert.equal(fit.intercept, 100);
  assert.equal(fit.r2, 1);
});

test('a perfect line is recovered exactly, even at epoch-sized times', () => {
  const t0 = 1_795_767_186.183;
  const points = Array.from({ length: 50 }, (_, i) => ({ t_s: t0 + i * 0.1, v: 80 * MiB + 2 * MiB * i }));
  const fit = leastSquaresSlope(points)!;
  assert.ok(Math.abs(fit.slope - 20 * MiB) < 1e-6 * 20 * MiB, `slope ${fit.slope}`);
  assert.equal(fit.r2, 1);
});

test('a falling line has a negative slope', () => {
  const fit = leastSquaresSlope(Array.from({ length: 10 }, (_, i) => ({ t_s: i, v: 1000 - 7 * i })))!;
  assert.ok(Math.abs(fit.slope + 7) < 1e-9);
  assert.ok(Math.abs(fit.intercept - 1000) < 1e-9);
});

test('a noisy steady climb gives about its slope and a high r2', () => {
  const rand = seeded(42);
  const points: Point[] = Array.from({ length: 100 }, (_, i) => ({
    t_s: i,
    v: 50 * MiB + MiB * i + (rand() - 0.5) * 4 * MiB,
  }));
  const fit = leastSquaresSlope(points)!;
  assert.ok(Math.abs(fit.slope - MiB) < 0.05 * MiB, `slope ${fit.slope}`);
  assert.ok(fit.r2 > 0.95 && fit.r2 < 1, `r2 ${fit.r2}`);
});

test('pure noise has a slope near 0 and an r2 near 0', () => {
  const rand = seeded(7);
  const points: Point[] = Array.from({ length: 200 }, (_, i) => ({ t_s: i, v: 100 * MiB + (rand() - 0.5) * 10 * MiB }));
  const fit = leastSquaresSlope(points)!;
  assert.ok(fit.r2 >= 0 && fit.r2 < 0.1, `r2 ${fit.r2}`);
  assert.ok(Math.abs(fit.slope) < 0.05 * MiB, `slope ${fit.slope}`);
});
