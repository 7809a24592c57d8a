import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { locateAllocator } from '../../src/collect/allocators.js';
import { DEFAULT_SETUPS, parseSetup } from '../../src/collect/compare.js';
import { memwhy, ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tempDir.js';

const PYTHON = '/usr/bin/python3';
const FRAGMENT = join(ROOT, 'workloads', 'fragment.py');
/** About 1.5 s a run: a short busy phase, then 0.8 s quiet. */
const SHORT = ['--rounds', '8', '--buffers', '8000', '--seconds', '0.8'];

interface CompareJson {
  command: string[];
  runs: {
    allocator: string;
    peak_rss: number;
    final_rss: number;
    mean_rss: number;
    wall_s: number;
    exit_code: number;
    samples: [number, number][];
  }[];
  summary: { allocator: string; runs: number; mean_rss: number; lowest_mean: boolean }[];
}

/** The default allocators this machine has, in the order compare runs them. */
function installedDefaults(): string[] {
  return DEFAULT_SETUPS.filter((label) => {
    try {
      locateAllocator(parseSetup(label).allocator);
      return true;
    } catch {
      return false;
    }
  });
}

before(async () => {
  // bin/memwhy builds dist/ on first use and says so on stderr; do that outside the tests.
  await memwhy(['--version'], { timeoutMs: 180_000 });
});

describe('memwhy compare', () => {
  test('runs fragment.py under each installed allocator and reports each run', async () => {
    const html = join(tempDir('memwhy-compare-'), 'compare.html');
    const res = await memwhy(['compare', '--json', '--interval', '100ms', '--html', html, '--', PYTHON, FRAGMENT, ...SHORT], {
      timeoutMs: 60_000,
    });
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as CompareJson;
    const expected = installedDefaults();
    assert.deepEqual(
      out.runs.map((r) => r.allocator),
      expected,
    );
    for (const run of out.runs) {
      assert.equal(run.exit_code, 0, run.allocator);
      assert.ok(run.samples.length >= 5, `${run.allocator}: ${run.samples.length} samples`);
      assert.ok(run.final_rss > 0 && run.peak_rss >= run.final_rss, `${run.allocator}: peak ${run.peak_rss}, final ${run.final_rss}`);
      assert.ok(run.mean_rss > 0 && run.mean_rss <= run.peak_rss, run.allocator);
      assert.equal(run.final_rss, run.samples[run.samples.length - 1]![1]);
    }
    assert.equal(out.summary.filter((s) => s.lowest_mean).length, 1);
    // The workload's own output went to stderr, with memwhy's progress.
    assert.match(res.stderr, /^quiet \(/m);
    assert.match(res.stderr, /^memwhy: \[1\/\d\] glibc: running/m);

    const page = readFileSync(html, 'utf8');
    assert.match(page, /<svg [^>]*viewBox/);
    assert.equal((page.match(/<polyline /g) ?? []).length, expected.length);
    assert.match(page, /<script type="application\/json" id="memwhy-data">/);
    assert.doesNotMatch(page, /(src|href)="https?:/, 'no network');
    process.stderr.write(`# compare on a short fragment.py:\n${out.runs.map((r) => `#   ${r.allocator}: mean ${r.mean_rss >> 20} MiB, final ${r.final_rss >> 20} MiB`).join('\n')}\n`);
  });

  test('prints a table with the lowest mean marked, and takes medians over --repeat', async () => {
    const res = await memwhy(
      ['compare', '--quiet', '--allocators', 'glibc,glibc-arena1', '--repeat', '2', '--', PYTHON, FRAGMENT, '--rounds', '6', '--buffers', '8000', '--seconds', '0.3'],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.split('\n');
    assert.match(lines[0]!, /^lowest mean RSS: glibc(-arena1)?, [\d.]+ MiB/);
    assert.match(res.stdout, /^ALLOCATOR +MEAN RSS +VS GLIBC +PEAK RSS +FINAL RSS +WALL +EXIT$/m);
    assert.match(res.stdout, /^glibc-arena1( \*)? +[\d.]+ MiB/m);
    assert.match(res.stdout, /medians of 2 runs per allocator/);
    assert.equal((res.stderr.match(/: running \(/g) ?? []).length, 4);
    assert.doesNotMatch(res.stderr, /^busy/m, '--quiet discards the workload output');
  });

  test('an unknown allocator is one line listing the known ones', async () => {
    const res = await memwhy(['compare', '--allocators', 'glibc,hoard', '--', PYTHON, '-c', 'pass']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^memwhy: unknown allocator "hoard": choose from glibc, jemalloc, tcmalloc, mimalloc, glibc-arenaN$/m);
  });
});
