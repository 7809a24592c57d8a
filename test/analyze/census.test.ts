import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabulateCensus } from '../../src/analyze/census.js';

const census = {
  total: { count: 1000, bytes: 10_000 },
  types: [
    { type: 'app.models.Session', module: 'app.models', count: 100, bytes: 5000 },
    { type: 'str', module: 'builtins', count: 600, bytes: 3000 },
    { type: 'app.models.User', module: 'app.models', count: 50, bytes: 1000 },
    { type: 'dict', module: 'builtins', count: 250, bytes: 1000 },
  ],
};

test('census table gives each type its share and the running share of bytes, ties by count', () => {
  const t = tabulateCensus(census, { by: 'type', top: 10 });
  assert.deepEqual(
    t.rows.map((r) => [r.name, r.count_pct, r.bytes_pct, r.cumulative_pct]),
    [
      ['app.models.Session', 10, 50, 50],
      ['str', 60, 30, 80],
      ['dict', 25, 10, 90],
      ['app.models.User', 5, 10, 100],
    ],
  );
  assert.deepEqual(t.rest, { groups: 0, count: 0, bytes: 0 });
});

test('census table past --top says what the hidden rows hold, from the totals', () => {
  // The agent sends only the top types; the rest is total minus the rows shown.
  const t = tabulateCensus({ total: { count: 5000, bytes: 20_000 }, types: census.types.slice(0, 2) }, { by: 'type', top: 1 });
  assert.equal(t.rows.length, 1);
  assert.deepEqual(t.rest, { groups: 1, count: 4900, bytes: 15_000 });
});

test('census table by module sums the types of each module', () => {
  const t = tabulateCensus(census, { by: 'module', top: 10 });
  assert.deepEqual(
    t.rows.map((r) => [r.name, r.count, r.bytes]),
    [
      ['app.models', 150, 6000],
      ['builtins', 850, 4000],
    ],
  );
});

test('census table of an empty census has no rows and no division by zero', () => {
  const t = tabulateCensus({ total: { count: 0, bytes: 0 }, types: [] }, { by: 'type', top: 5 });
  assert.deepEqual(t.rows, []);
  assert.deepEqual(t.rest, { groups: 0, count: 0, bytes: 0 });
});
