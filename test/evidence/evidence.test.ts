/** The evidence format: recorded evidence reads back whole; damaged or foreign files are refused in one line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvidenceError, parseEvidence, serializeEvidence } from '../../src/evidence/evidence.js';
import { memwhy } from '../helpers/cli.js';
import { tempDir } from '../helpers/tempDir.js';

const RECORDED = fileURLToPath(new URL('../analyze/recorded/', import.meta.url));
const files = readdirSync(RECORDED).filter((f) => f.startsWith('evidence-'));

test('every recorded evidence file reads back and serializes to the same data', () => {
  assert.ok(files.length >= 4, files.join(', '));
  for (const f of files) {
    const text = readFileSync(join(RECORDED, f), 'utf8');
    const e = parseEvidence(text);
    assert.deepEqual(JSON.parse(serializeEvidence(e)), JSON.parse(text), f);
  }
});

test('damaged evidence is refused with the part that is wrong', () => {
  const good = JSON.parse(readFileSync(join(RECORDED, files[0]!), 'utf8')) as Record<string, unknown>;
  const cases: [unknown, RegExp][] = [
    ['{"format": ', /not JSON/],
    [[1, 2], /the file should be object/],
    [{ ...good, format: 'memwhy-evidence/9' }, /format memwhy-evidence\/9, this memwhy reads memwhy-evidence\/1/],
    [{ ...good, format: 'something-else' }, /not memwhy evidence/],
    [{ ...good, samples: 'x' }, /evidence\.samples should be array/],
    [{ ...good, samples: [{ t: 1 }] }, /samples\[0\]\.rss should be number/],
    [{ ...good, censuses: [{ t: 1, total: { count: 1, bytes: 2 }, types: [{ type: 5 }], pause_ms: 0 }] }, /censuses\[0\]\.types\[0\]\.type should be string/],
    [{ ...good, gc: { start: 7, end: null } }, /gc\.start should be object or null/],
    [{ ...good, steps: [{ what: 'census', start: 1, end: 2 }] }, /steps\[0\]\.in_target should be boolean/],
  ];
  for (const [value, message] of cases) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    assert.throws(
      () => parseEvidence(text),
      (err: unknown) => err instanceof EvidenceError && message.test(err.message),
      String(message),
    );
  }
});

test('memwhy report on a damaged evidence directory prints one line and exits non-zero', async () => {
  const dir = tempDir('memwhy-evidence-');
  mkdirSync(dir, { recursive: true });
  const good = JSON.parse(readFileSync(join(RECORDED, files[0]!), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'evidence.json'), JSON.stringify({ ...good, pid: 'twelve' }));
  const r = await memwhy(['report', dir]);
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /is not evidence memwhy can read: evidence\.pid should be number/);
});
