import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';

interface RssJson {
  pid: number;
  interval_s: number;
  ended: string;
  samples: { t: number; rss: number }[];
  summary: {
    rss_start: number;
    rss_end: number;
    rss_min: number;
    rss_max: number;
    slope_bytes_per_s: number | null;
    r2: number | null;
  };
}

const PYTHON = '/usr/bin/python3';
/** A pid above the kernel's largest pid_max (2^22), so never a live process. */
const NO_SUCH_PID = '99999999';

before(async () => {
  // bin/memwhy builds dist/ on first use and says so on stderr; do that outside the tests.
  await memwhy(['--version'], { timeoutMs: 180_000 });
});

describe('memwhy rss measures a steady leak at its real rate', () => {
  for (const py of interpreters()) {
    test(`on ${py.label} (${py.version})`, async (t) => {
      const target = await startTarget(py.path, ['grow_steadily.py']);
      try {
        const trueRate = Number(/^ready (\d+)/m.exec(target.stdout())![1]);
        const res = await memwhy(['rss', String(target.pid), '--interval', '100ms', '--duration', '2s', '--json']);
        assert.equal(res.code, 0, res.stderr);
        const out = JSON.parse(res.stdout) as RssJson;
        const { summary } = out;
        t.diagnostic(
          `${py.label}: slope ${(summary.slope_bytes_per_s! / 2 ** 20).toFixed(2)} MiB/s ` +
            `(true ${(trueRate / 2 ** 20).toFixed(2)}), r2 ${summary.r2!.toFixed(3)}, ${out.samples.length} samples`,
        );
        assert.equal(out.pid, target.pid);
        assert.equal(out.interval_s, 0.1);
        assert.equal(out.ended, 'complete');
        assert.ok(out.samples.length >= 10, `${out.samples.length} samples`);
        assert.ok(Math.abs(summary.slope_bytes_per_s! - trueRate) <= 0.4 * trueRate, `slope ${summary.slope_bytes_per_s}`);
        assert.ok(summary.r2! > 0.8, `r2 ${summary.r2}`);
        assert.ok(summary.rss_end > summary.rss_start);
        assert.ok(summary.rss_min <= summary.rss_start && summary.rss_max >= summary.rss_end);
      } finally {
        await target.kill();
      }
    });
  }
});

describe('memwhy rss output', () => {
  let idle: Target;
  before(async () => {
    idle = await startTarget(PYTHON, ['grow_steadily.py', '2', '100', '0']);
  });
  after(() => idle.kill());

  test('--csv prints a header and one line per sample', async () => {
    const res = await memwhy(['rss', String(idle.pid), '--interval', '100ms', '--duration', '500ms', '--csv']);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 't,rss,pss,uss,anon,file,shmem,swap,swap_pss,threads,fds');
    // Ticks at 0, 100, ..., 500 ms; a busy machine may drop some.
    assert.ok(lines.length - 1 >= 2 && lines.length - 1 <= 6, `${lines.length - 1} rows`);
    for (const line of lines.slice(1)) assert.match(line, /^\d+(,\d+){10}$/);
  });

  test('--once prints one sample as a human summary', async () => {
    const res = await memwhy(['rss', String(idle.pid), '--once']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`^pid ${idle.pid} \\(python3?[^)]*\\): RSS \\d`));
    assert.match(res.stdout, /growth +needs two or more samples/);
    assert.match(res.stdout, /^uss +[\d.]+ (B|KiB|MiB)/m);
    assert.equal(res.stderr, '', 'one sample needs no progress line');
  });

  test('--duration 0 with --json gives one sample and no slope', async () => {
    const res = await memwhy(['rss', String(idle.pid), '--duration', '0', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as RssJson;
    assert.equal(out.samples.length, 1);
    assert.equal(out.summary.slope_bytes_per_s, null);
    assert.equal(out.summary.r2, null);
  });

  test('the human summary leads with the verdict and draws RSS', async () => {
    const res = await memwhy(['rss', String(idle.pid), '--interval', '100ms', '--duration', '300ms']);
    assert.equal(res.code, 0, res.stderr);
    const [first, second, third] = res.stdout.split('\n');
    assert.match(first!, /: RSS (rose|fell|did not change)/);
    assert.match(second!, /^growth +[-+]?[\d.]+ (B|KiB|MiB)\/s, r² [\d.]+/);
    assert.match(third!, /^RSS +[▁▂▃▄▅▆▇█]+ +min /);
    assert.match(res.stderr, /^memwhy: sampling pid \d+ every 100 ms for 300 ms/);
  });

  test('a target that exits mid-run is reported with the samples taken', async () => {
    const target = await startTarget(PYTHON, ['grow_steadily.py']);
    // Late enough that memwhy (a Node start, slow on a loaded machine) has sampled once.
    setTimeout(() => void target.kill(), 2500);
    const res = await memwhy(['rss', String(target.pid), '--interval', '100ms', '--duration', '20s', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as RssJson;
    assert.equal(out.ended, 'exited');
    assert.ok(out.samples.length >= 1);
    assert.match(res.stderr, new RegExp(`pid ${target.pid} exited after .*; reporting the ${out.samples.length} samples taken`));
  });
});

describe('memwhy rss rejects bad input with one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['a pid that is not a number', ['rss', 'abc'], /"abc" is not a pid/],
    ['pid 0', ['rss', '0'], /"0" is not a pid/],
    ['a pid with no process', ['rss', NO_SUCH_PID], /no process with pid 99999999/],
    ['a bad --interval', ['rss', '1', '--interval', 'soon'], /--interval: not a duration: "soon"/],
    ['a bad --duration', ['rss', '1', '--duration', '-3s'], /--duration: not a duration: "-3s"/],
    ['a zero --interval', ['rss', '1', '--interval', '0'], /--interval must be more than 0/],
    ['both --json and --csv', ['rss', '1', '--json', '--csv'], /choose one/],
  ];
  for (const [what, args, message] of cases) {
    test(what, async () => {
      const res = await memwhy(args);
      assert.notEqual(res.code, 0);
      assert.equal(res.stdout, '');
      assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr);
      assert.match(res.stderr, message);
    });
  }
});
