import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisRange, lineChart } from '../../src/report/svgChart.js';

test('axis ticks fall on round numbers and cover the data', () => {
  assert.deepEqual(axisRange([3, 587], true).ticks, [0, 100, 200, 300, 400, 500, 600]);
  assert.deepEqual(axisRange([0, 5.4], false).ticks, [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(axisRange([0.2, 0.9], false).ticks, [0.2, 0.4, 0.6, 0.8, 1]);
  // A flat series still gets an axis.
  assert.ok(axisRange([42, 42], false).ticks.length >= 2);
});

test('the chart draws one line per series with a legend entry, escaping labels', () => {
  const svg = lineChart({
    xLabel: 'time (s)',
    yLabel: 'RSS (MiB)',
    series: [
      {
        label: 'glibc',
        points: [
          [0, 10],
          [1, 200],
          [2, 190],
        ],
      },
      {
        label: 'a<b&c',
        points: [
          [0, 10],
          [2, 50],
        ],
      },
    ],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 2);
  assert.match(svg, />a&lt;b&amp;c</);
  assert.doesNotMatch(svg, /a<b/);
  assert.match(svg, />RSS \(MiB\)</);
  assert.match(svg, />time \(s\)</);
  assert.match(svg, />200</);
});
