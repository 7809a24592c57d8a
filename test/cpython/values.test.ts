import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { interpreters } from '../helpers/pythons.js';
import { bytesRepr, floatRepr, strRepr } from '../../src/cpython/values.js';

const newest = interpreters()
  .filter((p) => p.major === 3)
  .at(-1)!;

function pythonRepr(expression: string): string[] {
  const out = execFileSync(newest.path, ['-c', `import json; print(json.dumps([repr(v) for v in ${expression}]))`], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return JSON.parse(out) as string[];
}

test("float values render as Python's repr does", () => {
  const values = [0.5, 1.0, -0.0, 3.14159, 1e-4, 9.99e-5, 1.5e-7, 1e16, 9999999999999998.0, 1.7976931348623157e308, 5e-324, 123456.789, -2.5e-10];
  assert.deepEqual(values.map(floatRepr), pythonRepr(`[float(x) for x in ${JSON.stringify(values.map((v) => (Object.is(v, -0) ? '-0.0' : String(v))))}]`));
  assert.deepEqual([NaN, Infinity, -Infinity].map(floatRepr), ['nan', 'inf', '-inf']);
});

test("str and bytes values render as Python's repr does", () => {
  const texts = ['plain', "it's", 'say "hi"', 'both \' and "', 'tab\there\nnew', 'back\\slash', 'bell\x07', 'héllo 世界'];
  assert.deepEqual(
    texts.map((t) => strRepr(t)),
    pythonRepr(`[${texts.map((t) => JSON.stringify(t)).join(', ')}]`),
  );
  const blobs = ['xyz', "it's", '\x00\xff\n'];
  assert.deepEqual(
    blobs.map((b) => bytesRepr(Buffer.from(b, 'latin1'), 'b')),
    pythonRepr(`[${blobs.map((b) => `${JSON.stringify(b)}.encode('latin-1')`).join(', ')}]`),
  );
});

test('long text is cut with an ellipsis', () => {
  assert.equal(strRepr('x'.repeat(500)).length, 200);
  assert.match(strRepr('abc', true), /^'abc'\.\.\.$/);
});
