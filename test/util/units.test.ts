import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatBytesDelta, formatBytesFine, formatInteger, formatMs, formatMsOnly, formatMsUpTo10s, formatMsWhole, formatRateDelta, round3 } from '../../src/util/units.js';

test('sizes print one decimal from KiB up, and the report variant two between 1 and 10 GiB', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(-1536), '-1.5 KiB');
  assert.equal(formatBytes(1.43 * 1024 ** 3), '1.4 GiB');
  assert.equal(formatBytesFine(1.43 * 1024 ** 3), '1.43 GiB');
  assert.equal(formatBytesFine(12.5 * 1024 ** 3), '12.5 GiB');
  assert.equal(formatBytesFine(2.25 * 1024 ** 2), '2.3 MiB');
  assert.equal(formatBytesFine(-512), '-512 B');
});

test('changes carry a plus when they grew and no sign at zero', () => {
  assert.equal(formatBytesDelta(2048), '+2.0 KiB');
  assert.equal(formatBytesDelta(0), '0 B');
  assert.equal(formatBytesDelta(-2048), '-2.0 KiB');
  assert.equal(formatRateDelta(1024), '+1.0 KiB/s');
  assert.equal(formatRateDelta(0), '0 B/s');
});

test('the four ms formats differ where their callers need them to', () => {
  assert.deepEqual([0.421, 87, 4210, 12345].map(formatMs), ['0.42 ms', '87 ms', '4.21 s', '12.35 s']);
  assert.deepEqual([0.421, 87, 4210, 12345].map(formatMsUpTo10s), ['0.42 ms', '87 ms', '4210 ms', '12.3 s']);
  assert.deepEqual([0.421, 870.4, 2500].map(formatMsWhole), ['0 ms', '870 ms', '2.5 s']);
  assert.deepEqual([0.421, 87.4, 2300].map(formatMsOnly), ['0.4 ms', '87 ms', '2300 ms']);
});

test('counts are grouped by thousands and durations kept to three decimals', () => {
  assert.equal(formatInteger(1234567), '1,234,567');
  assert.equal(formatInteger(-48210), '-48,210');
  assert.equal(round3(1.23456), 1.235);
});
