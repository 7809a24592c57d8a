/**
 * The verdict on recorded evidence (saved by `memwhy diagnose --save` from
 * the leak-zoo programs on Debian's python3) and on seeded variations of it,
 * so each threshold's edges are cheap to test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Evidence } from '../../src/evidence/evidence.js';
import { diagnose, rssFacts } from '../../src/analyze/verdict.js';
import type { Census } from '../../src/collect/census.js';
import { seeded } from '../helpers/seeded.js';

const MiB = 1024 * 1024;

/** Five censuses over the window from the recorded first one, with one type's count set per census. */
function censusesWith(e: Evidence, type: string, counts: number[], size = 400): Census[] {
  const base = e.censuses[0] ?? recorded('python-objects').censuses[0]!;
  const t0 = e.samples[0]!.t;
  const t1 = e.samples[e.samples.length - 1]!.t;
  return counts.map((n, i) => ({
    ...base,
    t: t0 + ((t1 - t0) * i) / (counts.length - 1),
    total: { count: base.total.count + n, bytes: base.total.bytes + n * size },
    types: [...base.types, { type, module: 'app.handlers', count: n, bytes: n * size }],
  }));
}

/** RSS samples climbing at rate bytes/s under +-jitter/2, one a second. */
function noisyRss(e: Evidence, rate: number, jitter: number, seed = 3): Evidence['samples'] {
  const rnd = seeded(seed);
  const s0 = e.samples[0]!;
  return Array.from({ length: 30 }, (_, i) => ({ ...s0, t: s0.t + i * 1000, rss: s0.rss + rate * i + (rnd() - 0.5) * jitter }));
}

function recorded(cause: string): Evidence {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`recorded/evidence-${cause}.json`, import.meta.url)), 'utf8')) as Evidence;
}

describe('the verdict on recorded evidence', () => {
  for (const cause of ['python-objects', 'allocator-retention', 'uncollectable', 'no-growth']) {
    test(`evidence recorded from the ${cause} program gives ${cause}`, () => {
      const d = diagnose(recorded(cause));
      assert.equal(d.verdict.cause, cause, d.verdict.summary);
      assert.ok(d.verdict.evidence.length >= 1);
      assert.ok(d.recommendations.length >= 1);
    });
  }

  test('re-analysing the same evidence gives the same document', () => {
    const e = recorded('python-objects');
    assert.deepEqual(diagnose(e), diagnose(structuredClone(e)));
  });

  test('the python-objects suspects carry the holder path', () => {
    const d = diagnose(recorded('python-objects'));
    const s = d.suspects.find((x) => x.type.endsWith('Session'));
    assert.ok(
      s?.path?.some((hop) => hop.includes('_SESSIONS')),
      JSON.stringify(s),
    );
  });
});

describe('real-service shapes', () => {
  test('a slow leak (100 KiB/s) under RSS that jitters by MiBs is python-objects, with its rate an hour', () => {
    const e = recorded('no-growth');
    const samples = noisyRss(e, 100 * 1024, 4 * MiB);
    const ev = { ...e, samples, censuses: [] as Census[] };
    // +250 handlers a second, 400 bytes each: 100 KiB/s of objects.
    ev.censuses = censusesWith(
      ev,
      'app.handlers.RequestLog',
      [0, 1, 2, 3, 4].map((i) => i * 7 * 250),
    );
    const d = diagnose(ev);
    assert.equal(d.verdict.cause, 'python-objects', d.verdict.summary);
    assert.match(d.verdict.summary, /an hour at this rate/);
    assert.equal(d.suspects[0]?.type, 'app.handlers.RequestLog');
  });

  test('a batch caught by one census is not a leak', () => {
    const e = recorded('no-growth');
    const ev = { ...e, censuses: [] as Census[] };
    ev.censuses = censusesWith(ev, 'app.handlers.Batch', [0, 0, 200000, 0, 150000]);
    const d = diagnose(ev);
    assert.notEqual(d.verdict.cause, 'python-objects', d.verdict.summary);
  });

  test('a step and a flat line is not a climb: transient rows alive at every census but the first', () => {
    const e = recorded('no-growth');
    const ev = { ...e, censuses: [] as Census[] };
    // busy_no_leak's shape: 3,000 row dicts of requests in flight from the
    // second census on, a few more each time; every pair in order.
    ev.censuses = censusesWith(ev, 'dict', [0, 3000, 3001, 3002, 3003], 184);
    const d = diagnose(ev);
    assert.equal(d.verdict.cause, 'no-growth', d.verdict.summary);
    // The same growth spread through the window is a climb.
    ev.censuses = censusesWith(ev, 'dict', [0, 750, 1500, 2250, 3003], 184);
    assert.equal(diagnose(ev).verdict.cause, 'python-objects');
  });

  test('a stable verdict is not sure of itself when Python objects climbed underneath', () => {
    const e = recorded('no-growth');
    const ev = { ...e, censuses: [] as Census[] };
    // 100 KiB of objects in all: climbing, but too little to call.
    ev.censuses = censusesWith(ev, 'app.handlers.Tiny', [0, 50, 100, 150, 250]);
    const d = diagnose(ev);
    assert.equal(d.verdict.cause, 'no-growth');
    assert.notEqual(d.verdict.confidence, 'high');
  });

  test('RSS that climbs with nothing measured beneath it is unexplained, not stable', () => {
    const e = recorded('no-growth');
    const s0 = e.samples[0]!;
    // +256 KiB a second for 30 s, steadily; the censuses and allocator unchanged.
    const samples = Array.from({ length: 31 }, (_, i) => ({ ...s0, t: s0.t + i * 1000, rss: s0.rss + i * 256 * 1024 }));
    const d = diagnose({ ...e, samples });
    assert.equal(d.verdict.cause, 'unexplained', d.verdict.summary);
    assert.equal(d.verdict.confidence, 'low');
    assert.match(d.verdict.summary, /no measured signal explains it/);
    assert.match(d.recommendations.join(' '), /--duration/);
  });

  test('a record of a few dozen bytes that keeps kilobytes alive is python-objects, sized by what it keeps', () => {
    // uwsgi_leak's shape: +6 audit records a second, 56 bytes each, each with
    // its own list of 80 strings; the strings are also a request's transient
    // working set, so str does not climb in every census and only the
    // records and their lists do.
    const e = recorded('no-growth');
    const s0 = e.samples[0]!;
    const samples = Array.from({ length: 31 }, (_, i) => ({ ...s0, t: s0.t + i * 1000, rss: s0.rss + i * 180 * 1024 }));
    const ev: Evidence = { ...e, samples, censuses: [], refs: [], tracemalloc: { ...e.tracemalloc, already_tracing: false, traced_total: 2 * MiB } };
    ev.censuses = censusesWith(
      ev,
      'app.audit.AuditRecord',
      [0, 1, 2, 3, 4].map((i) => i * 45),
      56,
    );
    const chain = (kept_bytes: number) => ({ sample: '0x1', root: 'module' as const, complete: true, hops: [], kept_bytes, kept_objects: 83 });
    const refs = [
      {
        type: 'app.audit.AuditRecord',
        matched: ['app.audit.AuditRecord'],
        instances: 180,
        chains: [chain(8000), chain(8200), chain(8400), chain(3_000_000)],
        graph: { nodes: [], edges: [] },
        elapsed_ms: 5,
      },
    ];

    assert.equal(diagnose(ev).verdict.cause, 'unexplained', 'without what each record keeps, 10 KiB of records explain nothing');
    const d = diagnose({ ...ev, refs });
    assert.equal(d.verdict.cause, 'python-objects', d.verdict.summary);
    // The median, not the one sample that was a request's big body: 180 x 8.3 KB.
    assert.match(d.verdict.summary, /each new app\.audit\.AuditRecord keeps about 8\.\d KiB alive/);
    // The rate is of what the records keep (1.4 MiB in 30 s), not of their 56 bytes each.
    assert.match(d.verdict.summary, /climbing in every census \(4\d\.\d KiB\/s/);
    const f = d.findings.find((x) => x.cause === 'python-objects')!;
    assert.equal(f.numbers.kept_by_new_instances, 180 * 8300);
    // Never more than the heap and tracemalloc measured growing.
    const capped = diagnose({ ...ev, refs, tracemalloc: { ...ev.tracemalloc, traced_total: 1 * MiB } });
    assert.equal(capped.findings.find((x) => x.cause === 'python-objects')!.numbers.kept_by_new_instances, 1 * MiB);
  });

  test('RSS memwhy added inside the target is taken out of the fit', () => {
    const e = recorded('no-growth');
    const s0 = e.samples[0]!;
    const samples = Array.from({ length: 20 }, (_, i) => ({ ...s0, t: s0.t + i * 1000, rss: s0.rss + (i >= 10 ? 8 * MiB : 0) }));
    const steps = [{ what: 'census (2 of 3)', start: s0.t + 9200, end: s0.t + 9800, in_target: true }];
    assert.equal(rssFacts({ ...e, samples, steps }).growing, false);
    assert.ok(Math.abs(rssFacts({ ...e, samples, steps }).memwhy_steps - 8 * MiB) < 1);
    // The same step from a child (forked) changed nothing in the target: kept as the program's.
    assert.equal(rssFacts({ ...e, samples, steps: [{ ...steps[0]!, in_target: false }] }).memwhy_steps, 0);
  });
});

describe('a window cut short', () => {
  test('two censuses and no tracemalloc still name python-objects from the first-to-last change', () => {
    const e = recorded('python-objects');
    const cs = [...e.censuses].sort((a, b) => a.t - b.t);
    const cut = { ...e, censuses: [cs[0]!, cs[cs.length - 1]!], tracemalloc: { skipped: 'the window ended before tracing began' } };
    const d = diagnose(cut);
    assert.equal(d.verdict.cause, 'python-objects', d.verdict.summary);
  });
});

describe('seeded variations', () => {
  test('retention is still named without the trim proof, from the counters alone', () => {
    const e = recorded('allocator-retention');
    const withTrim = diagnose(e);
    assert.equal(withTrim.verdict.confidence, 'high');
    const noTrim = diagnose({ ...e, trim: null });
    assert.equal(noTrim.verdict.cause, 'allocator-retention');
    assert.equal(noTrim.trim, null);
  });

  test('a flat RSS with no growing signal is no-growth', () => {
    const e = recorded('no-growth');
    const flat = e.samples.map((s) => ({ ...s, rss: e.samples[0]!.rss }));
    assert.equal(rssFacts({ ...e, samples: flat }).growing, false);
    assert.equal(diagnose({ ...e, samples: flat }).verdict.cause, 'no-growth');
  });

  test('threads climbing by 3 or more without falling is a thread leak', () => {
    const e = recorded('no-growth');
    const climbing = e.samples.map((s, i) => ({ ...s, threads: s.threads + i }));
    assert.ok(climbing.length >= 4);
    const d = diagnose({ ...e, samples: climbing });
    assert.equal(d.verdict.cause, 'thread-leak', d.verdict.summary);
    const two = e.samples.map((s, i) => ({ ...s, threads: s.threads + Math.min(i, 2) }));
    assert.notEqual(diagnose({ ...e, samples: two }).verdict.cause, 'thread-leak');
  });

  test('RSS rising in steps (r² under 0.8) does not count as growth', () => {
    const e = recorded('no-growth');
    const base = e.samples[0]!.rss;
    const step = e.samples.map((s, i) => ({ ...s, rss: base + (i === e.samples.length - 1 ? 64 << 20 : 0) }));
    const f = rssFacts({ ...e, samples: step });
    assert.ok(f.r2 !== null && f.r2 < 0.8);
    assert.equal(f.growing, false);
  });
});
