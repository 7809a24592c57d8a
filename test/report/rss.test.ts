import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemorySample } from '../../src/collect/rss.js';
import { summarizeRss } from '../../src/analyze/rss.js';
import { csvHeader, csvRow, renderRssReport } from '../../src/report/rss.js';

const MiB = 1024 * 1024;

function sample(tMs: number, rss: number, denied = false): MemorySample {
  return {
    t: tMs,
    rss,
    pss: denied ? null : rss - MiB,
    uss: denied ? null : rss - 2 * MiB,
    anon: rss - 4 * MiB,
    file: 4 * MiB,
    shmem: 0,
    swap: denied ? null : 0,
    swap_pss: denied ? null : 0,
    threads: 3,
    fds: denied ? null : 7,
  };
}

test('a CSV row has one raw number per header column, empty where the kernel denied the file', () => {
  assert.equal(csvHeader(), 't,rss,pss,uss,anon,file,shmem,swap,swap_pss,threads,fds');
  assert.equal(csvRow(sample(1000, 10 * MiB)), `1000,${10 * MiB},${9 * MiB},${8 * MiB},${6 * MiB},${4 * MiB},0,0,0,3,7`);
  assert.equal(csvRow(sample(1000, 10 * MiB, true)), `1000,${10 * MiB},,,${6 * MiB},${4 * MiB},0,,,3,`);
});

test('the human report states growth with units, r² and a sparkline', () => {
  const samples = [0, 1, 2, 3, 4].map((i) => sample(1000 + i * 500, (10 + i) * MiB));
  const text = renderRssReport({ pid: 42, name: 'python3', interval_s: 0.5, ended: 'complete', samples, summary: summarizeRss(samples)! });
  const lines = text.split('\n');
  assert.equal(lines[0], 'pid 42 (python3): RSS rose 4.0 MiB in 2.0 s, 10.0 MiB → 14.0 MiB');
  assert.equal(lines[1], 'growth    +2.0 MiB/s, r² 1.00 (least-squares line through 5 samples every 500 ms)');
  assert.equal(lines[2], 'RSS       ▁▃▅▆█  min 10.0 MiB, max 14.0 MiB');
  assert.match(text, /^latest +value$/m);
  assert.match(text, /^rss +14\.0 MiB {2}resident/m);
  assert.match(text, /^fds +7 {2}open file descriptors$/m);
});

test('values the kernel denied show as n/a with what to do', () => {
  const samples = [sample(1000, 10 * MiB, true)];
  const text = renderRssReport({ pid: 1, name: 'init', interval_s: 1, ended: 'complete', samples, summary: summarizeRss(samples)! });
  assert.match(text, /^pss +n\/a/m);
  assert.match(text, /the kernel denied \/proc\/1\/smaps_rollup and \/proc\/1\/fd .*run memwhy as the target's user or as root/);
});
