import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDump, readDump, NodeKind } from '../../src/heap/dumpFile.js';
import { UserError } from '../../src/errors.js';
import { addressOf, encodeDump, type SyntheticDump } from '../helpers/dumpWriter.js';
import { tempDir } from '../helpers/tempDir.js';

const heap: SyntheticDump = {
  objects: [
    /* 0 */ { type: 'module', size: 72, refs: [1] },
    /* 1 */ { type: 'dict', size: 2264, refs: [{ to: 2, label: '._SESSIONS' }, { address: 0x10 }, { to: 3, label: '.big' }] },
    /* 2 */ { type: 'dict', size: 640, refs: [{ address: 0x20 }, { to: 4, label: "['9f1c']" }, 4] },
    /* 3 */ { type: 'bytes', size: 5 * 2 ** 30, address: 0x7ffd12345670 },
    /* 4 */ { type: 'app.models.Session', size: 56 },
  ],
  roots: [0],
  labels: [
    [0, NodeKind.module, 'app.cache'],
    [1, NodeKind.moduleDict, 'app.cache'],
  ],
};

test('a dump reads into typed columns with references as object indices', () => {
  const d = parseDump(encodeDump(heap), 'heap.mwd');
  assert.equal(d.nodeCount, 5);
  assert.deepEqual(
    [...d.nodeType].map((t) => d.typeNames[t]),
    ['module', 'dict', 'dict', 'bytes', 'app.models.Session'],
  );
  assert.deepEqual([...d.nodeSize], [72, 2264, 640, 5 * 2 ** 30, 56], 'a size past 4 GiB comes from BIGS');
  assert.equal(d.address[3], 0x7ffd12345670);
  assert.equal(d.nodeAt(0x7ffd12345670), 3);
  assert.equal(d.nodeAt(addressOf(heap, 4)), 4);
  assert.equal(d.nodeAt(0x1234), -1);
  const refs = (i: number): number[] => [...d.edgeTarget.subarray(d.edgeStart[i], d.edgeStart[i + 1])];
  assert.deepEqual([0, 1, 2, 3, 4].map(refs), [[1], [2, 3], [4, 4], [], []]);
  assert.equal(d.droppedEdges, 2, 'addresses that are no object of the dump are dropped');
  assert.deepEqual([...d.roots], [0]);
  assert.equal(d.meta.python, '3.11.7');
  assert.deepEqual(d.nodeLabels.get(1), { kind: NodeKind.moduleDict, text: 'app.cache' });
});

test('every reference of a dump of thousands of objects resolves, with addresses packed as an allocator packs them', () => {
  // Strides of 48 and 80 bytes (CPython's pools) crowd a hash table's slots:
  // this takes the lookups through probing, blocks and fingerprints.
  const n = 5000;
  const address = (i: number): number => 0x7f12_0000_0000 + (i < 2500 ? 48 * i : 2_000_000 + 80 * i);
  const objects = Array.from({ length: n }, (_, i) => ({
    type: 'tuple',
    size: 40,
    address: address(i),
    refs: [{ to: (i * 7919) % n }, { address: address(i) + 16 }, { to: (i + 1) % n }],
  }));
  const d = parseDump(encodeDump({ objects, roots: [0] }));
  for (let i = 0; i < n; i++) {
    assert.deepEqual([...d.edgeTarget.subarray(d.edgeStart[i], d.edgeStart[i + 1])], [(i * 7919) % n, (i + 1) % n]);
    assert.equal(d.nodeAt(address(i)), i);
    assert.equal(d.nodeAt(address(i) + 16), -1);
  }
  assert.equal(d.droppedEdges, n);
});

test('edge labels follow their edges when dropped references shift them', () => {
  const d = parseDump(encodeDump(heap));
  const labels = [...Array(d.edgeTarget.length).keys()].map((pos) => d.edgeLabel(pos));
  assert.deepEqual(labels, [undefined, '._SESSIONS', '.big', "['9f1c']", undefined]);
});

test('a file cut short, of another version or of another kind says so in one line', () => {
  const dir = tempDir('memwhy-dump-');
  const cases: [string, Buffer, RegExp][] = [
    ['cut.mwd', encodeDump({ ...heap, truncate: true }), /cut short \(no END section\)/],
    ['v9.mwd', encodeDump({ ...heap, version: 9 }), /format version 9; this memwhy reads version 1 \(upgrade memwhy\)/],
    ['text.mwd', Buffer.from('hello, world, this is not a dump'), /no MEMWHYD1 header/],
  ];
  for (const [name, bytes, message] of cases) {
    writeFileSync(join(dir, name), bytes);
    assert.throws(
      () => readDump(join(dir, name)),
      (err: unknown) => err instanceof UserError && message.test(err.message) && !err.message.includes('\n'),
    );
  }
  assert.throws(() => readDump(join(dir, 'missing.mwd')), /cannot read .*missing\.mwd/);
});

test('a dump at an odd offset in memory still reads', () => {
  const bytes = encodeDump(heap);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assert.equal(parseDump(shifted.subarray(3)).nodeCount, 5);
});

test('a file with more references than the reader resolves at a time reads the same as from memory', () => {
  // 2.5 M references (the reader takes 1 M at a time from the file): a list of 3 objects' worth of items, some dropped, one labelled at the end.
  const n = 2_500_000;
  const refs: SyntheticDump['objects'][number]['refs'] = [];
  for (let i = 0; i < n; i++) refs.push(i % 1000 === 999 ? { address: 0x30 } : 1 + (i % 3));
  refs.push({ to: 2, label: '.last' });
  const big: SyntheticDump = {
    objects: [
      { type: 'dict', size: 100, refs },
      { type: 'int', size: 28 },
      { type: 'str', size: 50 },
      { type: 'float', size: 24 },
    ],
    roots: [0],
  };
  const bytes = encodeDump(big);
  const file = join(tempDir('memwhy-dumpfile-'), 'big.mwd');
  writeFileSync(file, bytes);
  const fromFile = readDump(file);
  const fromMemory = parseDump(bytes);
  assert.equal(fromFile.edgeTarget.length, n - n / 1000 + 1);
  assert.equal(fromFile.droppedEdges, n / 1000);
  assert.deepEqual(fromFile.edgeTarget, fromMemory.edgeTarget);
  assert.equal(fromFile.edgeTarget[1_234_567], fromMemory.edgeTarget[1_234_567]);
  assert.equal(fromFile.edgeLabel(fromFile.edgeTarget.length - 1), '.last');
});
