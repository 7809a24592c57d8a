/**
 * The verdict on recorded evidence (saved by `memwhy diagnose --save` from
 * the leak-zoo programs on Debian's python3) and on seeded variations of it,
 * so each threshold's edges are cheap to test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Evidence } from '../../src/collect/diagnose.js';
import { diagnose, rssFacts } from '../../src/analyze/verdict.js';

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
    assert.ok(s?.path?.some((hop) => hop.includes('_SESSIONS')), JSON.stringify(s));
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
