import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDump, NodeKind, type HeapDump } from '../../src/heap/dumpFile.js';
import { UserError } from '../../src/errors.js';
import { encodeDump, type SyntheticDump } from '../helpers/dumpWriter.js';
import { seeded } from '../helpers/seeded.js';
import { fuzz, int, mutate, randomBytes, type Mutant } from '../helpers/fuzz.js';

/** A small heap with every section in use: labels, a size past 4 GiB, a dropped reference. */
function sampleHeap(rand: () => number, n: number): SyntheticDump {
  const objects: SyntheticDump['objects'] = [];
  for (let i = 0; i < n; i++) {
    const refs: NonNullable<SyntheticDump['objects'][number]['refs']> = [];
    for (let k = int(rand, 4); k > 0; k--) {
      const to = int(rand, n);
      refs.push(rand() < 0.3 ? { to, label: `.attr${to}` } : rand() < 0.1 ? { address: 0x10 + to } : to);
    }
    objects.push({ type: ['dict', 'list', 'str', 'app.Session'][i % 4]!, size: i === 3 ? 5 * 2 ** 30 : 16 + int(rand, 4000), refs });
  }
  return {
    objects,
    roots: [0, 1],
    labels: [
      [0, NodeKind.module, 'app'],
      [1, NodeKind.moduleDict, 'app'],
      [2, NodeKind.frame, 'main (app.py:3) [MainThread]'],
    ],
  };
}

/** The offsets of each section header's count (u32) and length (u64) fields, and of every u32 in its payload. */
function fieldsOf(bytes: Buffer): [number, 1 | 2 | 4 | 8][] {
  const fields: [number, 1 | 2 | 4 | 8][] = [[8, 2]];
  let pos = 16;
  while (pos + 16 <= bytes.length) {
    const length = Number(bytes.readBigUInt64LE(pos + 8));
    fields.push([pos + 4, 4], [pos + 8, 8]);
    const tag = bytes.toString('latin1', pos, pos + 4);
    if (tag !== 'META') for (let p = pos + 16; p + 4 <= pos + 16 + length; p += 4) fields.push([p, 4]);
    pos += 16 + Math.ceil(length / 8) * 8;
  }
  return fields;
}

/** What analysis relies on: every index the dump hands out points inside it. */
function assertConsistent(d: HeapDump, how: string): void {
  const n = d.nodeCount;
  for (let i = 0; i < n; i++) {
    assert.ok(d.nodeType[i]! < d.typeNames.length, `${how}: node ${i}'s type ${d.nodeType[i]} is not a type`);
    assert.ok(Number.isFinite(d.nodeSize[i]) && d.nodeSize[i]! >= 0, `${how}: node ${i}'s size`);
    assert.ok(d.edgeStart[i]! <= d.edgeStart[i + 1]!, `${how}: edgeStart is not increasing at ${i}`);
  }
  assert.ok(d.edgeStart[n]! <= d.edgeTarget.length, `${how}: edgeStart past the edges`);
  for (const t of d.edgeTarget) assert.ok(t < n, `${how}: edge to ${t} of ${n} nodes`);
  for (const r of d.roots) assert.ok(r < n, `${how}: root ${r} of ${n} nodes`);
  for (const node of d.nodeLabels.keys()) assert.ok(node < n, `${how}: label on node ${node} of ${n}`);
  assert.equal(typeof d.meta, 'object', `${how}: META is not an object`);
  for (let pos = 0; pos < d.edgeTarget.length; pos++) d.edgeLabel(pos);
}

test('the heap-dump reader refuses malformed and truncated dumps with a one-line user error and bounded work', () => {
  const rand = seeded(0x6d77_6431);
  const seeds = [encodeDump(sampleHeap(rand, 6)), encodeDump(sampleHeap(rand, 40)), encodeDump({ objects: [], roots: [] })];
  function* cases(): Generator<Mutant> {
    for (const seed of seeds) {
      // Every truncation of the smaller seeds, and every 7th of the larger.
      const step = seed.length > 2000 ? 7 : 1;
      for (let n = 0; n < seed.length; n += step) yield { bytes: Buffer.from(seed.subarray(0, n)), how: `truncated to ${n} bytes` };
      const fields = fieldsOf(seed);
      for (let k = 0; k < 1500; k++) yield mutate(rand, seed, fields);
    }
    for (let k = 0; k < 300; k++) {
      // Random bytes behind a valid header, so parsing gets past the magic.
      const body = randomBytes(rand, 512);
      yield { bytes: Buffer.concat([seeds[0]!.subarray(0, 16), body]), how: `header + ${body.length} random bytes` };
    }
    for (let k = 0; k < 200; k++) {
      const bytes = randomBytes(rand, 256);
      yield { bytes, how: `${bytes.length} random bytes` };
    }
  }
  const tally = fuzz(
    'heap dump (parseDump)',
    cases(),
    (m) => {
      const d = parseDump(m.bytes, 'fuzz.mwd');
      assertConsistent(d, m.how);
    },
    (err) => err instanceof UserError,
    (m) => m.how,
  );
  assert.ok(tally.accepted > 0 && tally.rejected > 0, 'the fuzzing both kept and refused dumps');
});

/** `bytes` with the first u32 of section `tag`'s payload (or header field at `field`) set to `value`. */
function patchSection(bytes: Buffer, tag: string, at: (payload: number, header: number) => number, value: number | bigint): Buffer {
  const out = Buffer.from(bytes);
  for (let pos = 16; pos + 16 <= out.length;) {
    const length = Number(out.readBigUInt64LE(pos + 8));
    if (out.toString('latin1', pos, pos + 4) === tag) {
      const p = at(pos + 16, pos);
      if (typeof value === 'bigint') out.writeBigUInt64LE(value, p);
      else out.writeUInt32LE(value, p);
      return out;
    }
    pos += 16 + Math.ceil(length / 8) * 8;
  }
  throw new Error(`no ${tag}`);
}

test('hostile counts and offsets in a dump are refused at once, not walked or allocated', () => {
  const seed = encodeDump(sampleHeap(seeded(7), 6));
  const cases: [string, Buffer, RegExp][] = [
    // Before the check, 2^32 - 1 edges were walked one by one: minutes of CPU.
    ['the last EOFF offset is 2^32 - 1', patchSection(seed, 'EOFF', (p) => p + 6 * 4, 0xffffffff), /EOFF offsets do not span/],
    ['an EOFF offset goes backwards', patchSection(seed, 'EOFF', (p) => p + 4, 0xffff), /EOFF offsets go backwards|do not span/],
    ['the STRS count is 2^32 - 1', patchSection(seed, 'STRS', (_, h) => h + 4, 0xffffffff), /too short for 4294967295 strings/],
    ['a section length is 2^64 - 1', patchSection(seed, 'ADDR', (_, h) => h + 8, 0xffffffffffffffffn), /cut short/],
    ['a root is past the last object', patchSection(seed, 'ROOT', (p) => p, 1_000_000), /ROOT section refers to index 1000000 of 6/],
    ['an object has a type past the type table', patchSection(seed, 'OTYP', (p) => p, 99), /OTYP section refers to index 99/],
    ['a label is on an object past the last', patchSection(seed, 'NLAB', (p) => p, 6), /NLAB section refers to index 6 of 6/],
    ['an edge label names a string past the table', patchSection(seed, 'ELAB', (p) => p + 4, 0xfffffff0), /ELAB section refers to index/],
    [
      'META is a number',
      Buffer.from(
        seed.toString('latin1').replace(/\{"format[^}]*\}/, (m) => '7'.padEnd(m.length, ' ')),
        'latin1',
      ),
      /META section is not a JSON object/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(
      () => parseDump(bytes, 'hostile.mwd'),
      (err: unknown) => err instanceof UserError && message.test(err.message) && err.message.startsWith('hostile.mwd is not a memwhy heap dump'),
      what,
    );
  }
});
