import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeHeap, diffHeaps, groupHeap, ADDRESS_REUSE_CAVEAT } from '../../src/analyze/retainers.js';
import { NodeKind, parseDump } from '../../src/heap/dumpFile.js';
import { encodeDump, type SyntheticDump, type SyntheticObject } from '../helpers/dumpWriter.js';

/**
 * module app.cache -> its dict -> _SESSIONS (a dict) -> two Sessions, each with a
 * bytes payload; module app.views -> its dict -> handler (a function) -> a list;
 * one str both a Session and the list refer to; and a dict nothing refers to.
 */
function heap(extraSessions = 0): SyntheticDump {
  const objects: SyntheticObject[] = [
    /* 0 */ { type: 'module', size: 72, refs: [1] },
    /* 1 */ { type: 'dict', size: 1000, refs: [{ to: 2, label: '._SESSIONS' }] },
    /* 2 */ {
      type: 'dict',
      size: 600,
      refs: [
        { to: 3, label: "['a']" },
        { to: 4, label: "['b']" },
      ],
    },
    /* 3 */ { type: 'app.models.Session', size: 50, refs: [5, 11] },
    /* 4 */ { type: 'app.models.Session', size: 50, refs: [6] },
    /* 5 */ { type: 'bytes', size: 5000 },
    /* 6 */ { type: 'bytes', size: 3000 },
    /* 7 */ { type: 'module', size: 72, refs: [8] },
    /* 8 */ { type: 'dict', size: 1000, refs: [{ to: 9, label: '.handler' }] },
    /* 9 */ { type: 'function', size: 150, refs: [10, 8] },
    /* 10 */ { type: 'list', size: 80, refs: [11, 14] },
    /* 11 */ { type: 'str', size: 77 },
    /* 12 */ { type: 'dict', size: 200, refs: [13] },
    /* 13 */ { type: 'str', size: 900 },
    /* 14 */ { type: 'tuple', size: 64 },
  ];
  for (let k = 0; k < extraSessions; k++) {
    const s = objects.length;
    objects.push({ type: 'app.models.Session', size: 50, refs: [s + 1] }, { type: 'bytes', size: 4000 });
    objects[2]!.refs!.push({ to: s, label: `['new${k}']` });
  }
  return {
    objects,
    roots: [0, 7],
    labels: [
      [0, NodeKind.module, 'app.cache'],
      [1, NodeKind.moduleDict, 'app.cache'],
      [7, NodeKind.module, 'app.views'],
      [8, NodeKind.moduleDict, 'app.views'],
      [9, NodeKind.function, 'app.views.handler'],
    ],
  };
}

test('each object is counted under its nearest named holder', () => {
  const dump = parseDump(encodeDump(heap()), 'a.mwd');
  const a = analyzeHeap(dump, groupHeap(dump), { top: 10 });
  const row = (name: string) => a.retainers.find((r) => r.name === name);
  const sessions = row('module app.cache `_SESSIONS`')!;
  assert.deepEqual(
    { kind: sessions.kind, bytes: sessions.bytes, count: sessions.count, retained: sessions.retained_bytes },
    { kind: 'global', bytes: 600 + 50 + 50 + 5000 + 3000, count: 5, retained: 8700 },
  );
  assert.deepEqual(sessions.types[0], { type: 'bytes', count: 2, bytes: 8000 });
  assert.deepEqual(
    sessions.largest.map((p) => [p.label, p.bytes]),
    [
      ["['a']", 5050],
      ["['b']", 3050],
    ],
  );
  assert.deepEqual([row('module app.cache')!.bytes, row('module app.cache')!.retained_bytes], [1072, 1072 + 8700]);
  const handler = row('function app.views.handler')!;
  assert.deepEqual([handler.kind, handler.bytes, handler.count], ['function', 150 + 80 + 64, 3]);
  assert.deepEqual(
    handler.largest.map((p) => p.label),
    ['list'],
  );
  assert.equal(row('objects reachable from several roots, no single holder')!.bytes, 77);
  const orphan = a.retainers.find((r) => r.kind === 'unreferenced')!;
  assert.deepEqual([orphan.bytes, orphan.count], [1100, 2]);
  assert.equal(a.summary.unreferenced_roots, 1);
  assert.equal(a.summary.bytes, 12315);
  assert.equal(
    a.retainers.reduce((s, r) => s + r.bytes, 0),
    a.summary.bytes,
    'the rows partition the heap',
  );
  assert.deepEqual(a.retainers.map((r) => r.name)[0], 'module app.cache `_SESSIONS`');
  assert.deepEqual(a.types[0], { type: 'bytes', count: 2, bytes: 8000 });
});

test('a list item is named by its index', () => {
  const dump = parseDump(
    encodeDump({
      objects: [
        { type: 'module', size: 72, refs: [1] },
        { type: 'dict', size: 1000, refs: [{ to: 2, label: '.QUEUE' }] },
        { type: 'list', size: 88, refs: [3, 4] },
        { type: 'tuple', size: 64 },
        { type: 'bytes', size: 4000 },
      ],
      roots: [0],
      labels: [
        [0, NodeKind.module, 'app.jobs'],
        [1, NodeKind.moduleDict, 'app.jobs'],
      ],
    }),
  );
  const queue = analyzeHeap(dump, groupHeap(dump), { top: 10 }).retainers.find((r) => r.name === 'module app.jobs `QUEUE`')!;
  assert.deepEqual(
    queue.largest.map((p) => [p.label, p.type, p.bytes]),
    [
      ['[1]', 'bytes', 4000],
      ['[0]', 'tuple', 64],
    ],
  );
});

test('the diff finds the new objects and the holder they went to', () => {
  const before = heap();
  const after = heap(3);
  // An address reused by an object of another type is a new object.
  after.objects[13] = { type: 'bytearray', size: 900 };
  const a = parseDump(encodeDump(before), 'before.mwd');
  const b = parseDump(encodeDump(after), 'after.mwd');
  const d = diffHeaps(a, groupHeap(a), b, groupHeap(b), { top: 5 });
  assert.deepEqual(d.new_objects, { count: 7, bytes: 3 * 4050 + 900 });
  assert.deepEqual(d.gone_objects, { count: 1, bytes: 900 });
  assert.deepEqual(d.new_by_holder[0], { name: 'module app.cache `_SESSIONS`', kind: 'global', count: 6, bytes: 3 * 4050 });
  assert.deepEqual(d.new_by_type[0], { type: 'bytes', count: 3, bytes: 12000 });
  assert.deepEqual(d.holders[0], {
    name: 'module app.cache `_SESSIONS`',
    before_bytes: 8700,
    after_bytes: 8700 + 3 * 4050,
    delta_bytes: 3 * 4050,
    before_count: 5,
    after_count: 11,
  });
  assert.equal(d.finding.status, 'issue');
  assert.equal(d.finding.summary, 'the Python heap grew; most new objects are held by module app.cache `_SESSIONS`');
  assert.equal(d.finding.numbers.growth_bytes, 3 * 4050);
  assert.equal(d.caveat, ADDRESS_REUSE_CAVEAT);
});

test('dumps of two processes cannot be diffed by address', () => {
  const a = parseDump(encodeDump(heap()));
  const b = parseDump(encodeDump({ ...heap(1), meta: { pid: 7 } }));
  const d = diffHeaps(a, groupHeap(a), b, groupHeap(b), { top: 5 });
  assert.equal(d.finding.status, 'insufficient-data');
  assert.match(d.finding.summary, /different processes \(pid 4242, .* vs pid 7/);
});

test('a heap that did not grow says so', () => {
  const a = parseDump(encodeDump(heap()));
  const d = diffHeaps(a, groupHeap(a), a, groupHeap(a), { top: 5 });
  assert.equal(d.finding.status, 'none');
  assert.deepEqual([d.new_objects.count, d.gone_objects.count, d.holders.length], [0, 0, 0]);
});
