import { test } from 'node:test';
import assert from 'node:assert/strict';
import { growthOf } from '../../src/analyze/growth.js';
import type { Census, TypeCount } from '../../src/collect/census.js';

function census(t_s: number, types: [string, number, number][], pause_ms = 10): Census {
  const list: TypeCount[] = types.map(([type, count, bytes]) => ({ type, module: type.includes('.') ? type.replace(/\.[^.]+$/, '') : 'builtins', count, bytes }));
  return {
    t: 1_700_000_000_000 + t_s * 1000,
    total: { count: list.reduce((s, x) => s + x.count, 0), bytes: list.reduce((s, x) => s + x.bytes, 0) },
    types: list,
    pause_ms,
    objects_per_s: null,
  };
}

test('growth puts the steadily growing type first, with its rate per second', () => {
  const g = growthOf([
    census(0, [
      ['app.Leak', 100, 5600],
      ['str', 1000, 60_000],
      ['dict', 50, 10_000],
    ]),
    census(5, [
      ['app.Leak', 600, 33_600],
      ['str', 1010, 60_500],
      ['dict', 50, 10_000],
    ]),
    census(
      10,
      [
        ['app.Leak', 1100, 61_600],
        ['str', 1005, 60_300],
        ['dict', 50, 10_000],
      ],
      25,
    ),
  ]);
  assert.equal(g.verdict, 'issue');
  assert.equal(g.elapsed_s, 10);
  assert.equal(g.max_pause_ms, 25);
  const lead = g.types[0]!;
  assert.equal(lead.type, 'app.Leak');
  assert.equal(lead.module, 'app');
  assert.equal(lead.count_delta, 1000);
  assert.equal(lead.bytes_delta, 56_000);
  assert.equal(lead.count_per_s, 100);
  assert.equal(lead.bytes_per_s, 5600);
  assert.equal(lead.steady, true);
  // str rose, then fell: churn, not steady. dict did not change: left out.
  assert.deepEqual(
    g.types.map((t) => [t.type, t.steady]),
    [
      ['app.Leak', true],
      ['str', false],
    ],
  );
  assert.equal(g.total.count_delta, 1005);
});

test('growth counts a type that appears or disappears from zero', () => {
  const g = growthOf([census(0, [['a.Old', 10, 100]]), census(1, [['a.New', 5, 50]]), census(2, [['a.New', 9, 90]])]);
  assert.deepEqual(
    g.types.map((t) => [t.type, t.count_start, t.count_end, t.steady]),
    [
      ['a.New', 0, 9, true],
      ['a.Old', 10, 0, false],
    ],
  );
});

test('growth with two censuses shows the changes but cannot call them steady', () => {
  const g = growthOf([census(0, [['a.Leak', 1, 10]]), census(2, [['a.Leak', 3, 30]])]);
  assert.equal(g.verdict, 'insufficient-data');
  assert.equal(g.types[0]!.count_per_s, 1);
  assert.equal(g.types[0]!.steady, false);
});

test('growth of one census is insufficient data; of a flat heap, none', () => {
  assert.equal(growthOf([census(0, [['x', 1, 1]])]).verdict, 'insufficient-data');
  const flat = growthOf([census(0, [['x', 1, 1]]), census(1, [['x', 1, 1]]), census(2, [['x', 1, 1]])]);
  assert.equal(flat.verdict, 'none');
  assert.deepEqual(flat.types, []);
});

test('a steady climb is at p < 0.01: five censuses all in order, or six with one pair out of order', () => {
  const steadyOf = (counts: number[]): boolean => growthOf(counts.map((n, i) => census(i * 6, [['str', n, n * 140]]))).types.find((t) => t.type === 'str')!.steady;
  // Transient response bodies in a chance order: one dip in five is p = 5/120.
  assert.equal(steadyOf([0, 14_000, 9_000, 20_000, 25_000]), false);
  assert.equal(steadyOf([0, 5_000, 10_000, 15_000, 25_000]), true);
  // Six censuses allow one pair out of order (p = 6/720).
  assert.equal(steadyOf([0, 6_000, 5_000, 12_000, 18_000, 24_000]), true);
  assert.equal(steadyOf([0, 9_000, 5_000, 12_000, 4_000, 24_000]), false);
});
