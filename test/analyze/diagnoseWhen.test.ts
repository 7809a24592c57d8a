import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRule, type DiagnoseRule } from '../../src/analyze/diagnoseWhen.js';
import type { Point } from '../../src/analyze/slope.js';

const MiB = 2 ** 20;
const growth: DiagnoseRule = { kind: 'growth', bytesPerSecond: MiB, forS: 60 };

function series(from: number, to: number, step: number, v: (t: number) => number): Point[] {
  const out: Point[] = [];
  for (let t = from; t <= to; t += step) out.push({ t_s: t, v: v(t) });
  return out;
}

test('the growth rule fires on a steady climb faster than its rate over its whole span', () => {
  const hit = checkRule(growth, { rss: series(1000, 1060, 5, (t) => 100 * MiB + (t - 1000) * 2 * MiB), nowS: 1060 });
  assert.equal(hit?.trigger, 'growth');
  assert.match(hit!.detail, /RSS grew 2097152 B\/s over 60 s \(r² 1\.00\)/);
});

test('the growth rule waits until the process has been watched for its whole span', () => {
  assert.equal(checkRule(growth, { rss: series(1001, 1061, 6, (t) => t * 2 * MiB), nowS: 1060.5 }), undefined);
  // Readings every 6 s: the one at 1001 is before the span's start (1000.5) and anchors the fit.
  assert.ok(checkRule(growth, { rss: series(1001, 1061, 6, (t) => t * 2 * MiB), nowS: 1061.5 }));
});

test('the growth rule ignores a slower climb and a single jump', () => {
  assert.equal(checkRule(growth, { rss: series(1000, 1060, 5, (t) => t * 0.5 * MiB), nowS: 1060 }), undefined);
  // Flat, then one 200 MiB jump at the last reading: a slope of 1.3 MiB/s, but r² of 0.23.
  const jump = series(1000, 1060, 5, (t) => (t === 1060 ? 300 * MiB : 100 * MiB));
  assert.equal(checkRule(growth, { rss: jump, nowS: 1060 }), undefined);
});

test('the growth rule looks only at the readings inside its span', () => {
  // Steep long ago, flat in the last minute.
  const rss = [...series(800, 995, 5, (t) => t * 5 * MiB), ...series(1000, 1060, 5, () => 5000 * MiB)];
  assert.equal(checkRule(growth, { rss, nowS: 1060 }), undefined);
});

test('the cgroup rule fires above its share of memory.max and never without a limit', () => {
  const rule: DiagnoseRule = { kind: 'cgroup-share', share: 0.8 };
  assert.equal(checkRule(rule, { rss: [], nowS: 0, cgroup: { current: 900, limit: 1000 } })?.trigger, 'cgroup-share');
  assert.equal(checkRule(rule, { rss: [], nowS: 0, cgroup: { current: 800, limit: 1000 } }), undefined);
  assert.equal(checkRule(rule, { rss: [], nowS: 0, cgroup: { current: 900 } }), undefined);
  assert.equal(checkRule(rule, { rss: [], nowS: 0 }), undefined);
});
