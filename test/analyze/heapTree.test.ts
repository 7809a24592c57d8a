import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explorerTree, type HeapTree, type ExplorerOptions } from '../../src/analyze/heapTree.js';
import { groupHeap, summarize } from '../../src/analyze/retainers.js';
import { parseDump, type HeapDump } from '../../src/heap/dumpFile.js';
import { encodeDump, type SyntheticObject } from '../helpers/dumpWriter.js';

/**
 * A module `app` whose dict holds `cache` (a dict of 10 sessions of 100 bytes,
 * each holding a 300-byte payload), `small` (a 50-byte list) and `chain` (31
 * linked nodes of 10 bytes). 55 objects, 5,560 bytes.
 */
function appDump(): HeapDump {
  const objects: SyntheticObject[] = [
    { type: 'module', size: 100, refs: [1] },
    {
      type: 'dict',
      size: 100,
      refs: [
        { to: 2, label: '.cache' },
        { to: 23, label: '.small' },
        { to: 24, label: '.chain' },
      ],
    },
    { type: 'dict', size: 1000, refs: Array.from({ length: 10 }, (_, i) => ({ to: 3 + i, label: `['k${i}']` })) },
  ];
  for (let i = 0; i < 10; i++) objects.push({ type: 'app.Session', size: 100, refs: [13 + i] });
  for (let i = 0; i < 10; i++) objects.push({ type: 'bytes', size: 300 });
  objects.push({ type: 'list', size: 50 });
  for (let i = 0; i < 31; i++) objects.push({ type: 'app.Node', size: 10, refs: i < 30 ? [25 + i] : [] });
  return parseDump(
    encodeDump({
      objects,
      roots: [0],
      labels: [
        [0, 1, 'app'],
        [1, 2, 'app'],
      ],
    }),
  );
}

function explore(dump: HeapDump, opts: Partial<ExplorerOptions>, isNew?: Uint8Array): HeapTree {
  const groups = groupHeap(dump);
  return explorerTree({ dump, groups, summary: summarize(dump, groups), isNew }, { minShare: 0.1, topChildren: 2, maxHolders: 100, pathSteps: 4, ...opts });
}

const byName = (t: HeapTree, name: string): number => t.nodes.findIndex((n) => n.name === name);

test('the explorer keeps holders above the share and their largest children, and counts the rest', () => {
  const t = explore(appDump(), {});
  assert.equal(t.summary.bytes, 5560);
  // Holders retaining >= 556 bytes: the module, its dict, the cache; plus the two largest children of each.
  assert.deepEqual(t.pruning, {
    min_share: 0.1,
    min_bytes: 556,
    top_children: 2,
    max_holders: 100,
    holders_kept: 3,
    holders_dropped: 0,
    nodes_kept: 6,
    objects_hidden: 49,
  });
  const cache = t.nodes[byName(t, '.cache')]!;
  assert.deepEqual([t.types[cache.type], cache.shallow, cache.retained, cache.count], ['dict', 1000, 5000, 21]);
  assert.equal(cache.children.length, 2);
  assert.deepEqual(cache.more, { count: 8, bytes: 3200 }, 'eight sessions of 400 bytes left out');
  assert.deepEqual(
    cache.byType.map(([ty, n, b]) => [t.types[ty], n, b]),
    [['app.Session', 10, 4000]],
  );
  const session = t.nodes[cache.children[0]!]!;
  assert.match(session.name, /^\['k\d'\]$/);
  assert.deepEqual([session.retained, session.children.length, session.more.count], [400, 0, 1], 'a kept child below the share shows only a count');
  const dict = t.nodes[cache.parent]!;
  assert.deepEqual(
    dict.children.map((c) => t.nodes[c]!.name),
    ['.cache', '.chain'],
  );
  assert.deepEqual(dict.more, { count: 1, bytes: 50 });
  assert.deepEqual(
    t.top.map((c) => t.nodes[c]!.name),
    ['app'],
  );
});

test('a path from a root names each reference, and a long one is cut in the middle with the count left out', () => {
  const t = explore(appDump(), { minShare: 0, topChildren: 1, maxHolders: 1000 });
  const path = (id: number): string[] => {
    const out: string[] = [];
    for (let s = t.nodes[id]!.path; s >= 0; s = t.steps[s]!.up) {
      const step = t.steps[s]!;
      out.unshift(`${step.skipped ? `(${step.skipped} left out) ` : ''}${step.via || step.name || t.types[step.type]}`);
    }
    return out;
  };
  assert.deepEqual(path(byName(t, "['k0']")), ['app', 'app', '.cache', "['k0']"]);
});

test('a long path from a root is cut in the middle, saying how many objects it left out', () => {
  // Two chains of 31 nodes from the module's dict both lead to one 2,000-byte bytearray: the dict dominates it, the chains hold little.
  const objects: SyntheticObject[] = [
    { type: 'module', size: 100, refs: [1] },
    {
      type: 'dict',
      size: 100,
      refs: [
        { to: 2, label: '.a' },
        { to: 33, label: '.b' },
      ],
    },
  ];
  for (const head of [2, 33]) for (let i = 0; i < 31; i++) objects.push({ type: 'app.Node', size: 5, refs: [i < 30 ? head + i + 1 : 64] });
  objects.push({ type: 'bytearray', size: 2000 });
  const dump = parseDump(
    encodeDump({
      objects,
      roots: [0],
      labels: [
        [0, 1, 'app'],
        [1, 2, 'app'],
      ],
    }),
  );
  const t = explore(dump, {});
  const big = t.nodes.findIndex((n) => t.types[n.type] === 'bytearray');
  assert.ok(big >= 0, 'the bytearray is kept');
  const path: string[] = [];
  for (let s = t.nodes[big]!.path; s >= 0; s = t.steps[s]!.up) {
    const step = t.steps[s]!;
    path.unshift(`${step.skipped ? `(${step.skipped} left out) ` : ''}${step.via || step.name || t.types[step.type]}`);
  }
  // 33 references from the module: the root, 28 objects left out (its dict and 27 links), then the last 4 steps.
  assert.deepEqual(path, ['app', '(28 left out) app.Node', 'app.Node', 'app.Node', 'app.Node', 'bytearray']);
});

test('the explorer stops at its holder limit and says how many it left out', () => {
  const t = explore(appDump(), { minShare: 0, maxHolders: 3 });
  assert.equal(t.pruning.holders_kept, 3);
  assert.ok(t.pruning.holders_dropped > 0);
});

test('with a mask of new objects, nodes carry the new bytes they retain and what grew names the cache', () => {
  const dump = appDump();
  const isNew = new Uint8Array(dump.nodeCount);
  for (const v of [3, 4, 13, 14]) isNew[v] = 1;
  const t = explore(dump, {}, isNew);
  const cache = t.nodes[byName(t, '.cache')]!;
  assert.equal(cache.newBytes, 800);
  assert.equal(t.nodes[byName(t, 'app')]!.newBytes, 800);
  assert.equal(t.diff, undefined, 'no diff table given');
  const withDiff = explorerTree({ dump, groups: groupHeap(dump), summary: t.summary, isNew, diff: {} as never }, { minShare: 0.1, topChildren: 2, maxHolders: 100, pathSteps: 4 });
  assert.equal(withDiff.nodes[withDiff.diff!.grew[0]!]!.name, '.cache', "the module and its dict only pass the cache's growth up");
  assert.ok(withDiff.nodes.some((n) => n.isNew));
});
