import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dominatorTree, retainedSizes, SUPER_ROOT, UNREACHED, type CsrGraph } from '../../src/analyze/dominators.js';
import { seeded } from '../helpers/seeded.js';

function graph(nodeCount: number, edges: readonly (readonly [number, number])[]): CsrGraph {
  const edgeStart = new Uint32Array(nodeCount + 1);
  for (const [from] of edges) edgeStart[from + 1]!++;
  for (let i = 0; i < nodeCount; i++) edgeStart[i + 1]! += edgeStart[i]!;
  const fill = edgeStart.slice();
  const edgeTarget = new Uint32Array(edges.length);
  for (const [from, to] of edges) edgeTarget[fill[from]!++] = to;
  return { nodeCount, edgeStart, edgeTarget };
}

/**
 * Dominators by their definition, for checking: d dominates v when v cannot
 * be reached from the roots with d removed. Returns idom per node.
 */
function bruteForceIdom(g: CsrGraph, roots: readonly number[]): number[] {
  const reach = (removed: number): boolean[] => {
    const seen = new Array<boolean>(g.nodeCount).fill(false);
    const todo = roots.filter((r) => r !== removed);
    for (const r of todo) seen[r] = true;
    while (todo.length) {
      const u = todo.pop()!;
      for (let e = g.edgeStart[u]!; e < g.edgeStart[u + 1]!; e++) {
        const v = g.edgeTarget[e]!;
        if (v !== removed && !seen[v]) {
          seen[v] = true;
          todo.push(v);
        }
      }
    }
    return seen;
  };
  const all = reach(-1);
  const doms: Set<number>[] = [];
  for (let v = 0; v < g.nodeCount; v++) doms.push(new Set([v]));
  for (let d = 0; d < g.nodeCount; d++) {
    if (!all[d]) continue;
    const without = reach(d);
    for (let v = 0; v < g.nodeCount; v++) if (all[v] && v !== d && !without[v]) doms[v]!.add(d);
  }
  // The immediate dominator is the strict dominator that every other strict dominator dominates.
  return doms.map((ds, v) => {
    if (!all[v]) return UNREACHED;
    const strict = [...ds].filter((d) => d !== v);
    const idom = strict.find((d) => strict.every((o) => o === d || doms[d]!.has(o)));
    return idom ?? SUPER_ROOT;
  });
}

test('in a diamond the top dominates the bottom, the sides dominate nothing', () => {
  //   0
  //  1 2
  //   3 -> 4
  const g = graph(5, [
    [0, 1],
    [0, 2],
    [1, 3],
    [2, 3],
    [3, 4],
  ]);
  const tree = dominatorTree(g, [0]);
  assert.deepEqual([...tree.idom], [SUPER_ROOT, 0, 0, 0, 3]);
  const r = retainedSizes(tree, [1, 10, 100, 1000, 10000]);
  assert.deepEqual([...r.bytes], [11111, 10, 100, 11000, 10000]);
  assert.deepEqual([...r.count], [5, 1, 1, 2, 1]);
});

test('in a chain each node dominates the next and retains the rest', () => {
  const g = graph(4, [
    [0, 1],
    [1, 2],
    [2, 3],
  ]);
  const tree = dominatorTree(g, [0]);
  assert.deepEqual([...tree.idom], [SUPER_ROOT, 0, 1, 2]);
  assert.deepEqual([...retainedSizes(tree, [1, 2, 4, 8]).bytes], [15, 14, 12, 8]);
});

test('a cycle is dominated by where the roots enter it', () => {
  // 0 -> 1 -> 2 -> 3 -> 1, and 2 -> 4
  const g = graph(5, [
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 1],
    [2, 4],
  ]);
  const tree = dominatorTree(g, [0]);
  assert.deepEqual([...tree.idom], [SUPER_ROOT, 0, 1, 2, 2]);
});

test('a node two roots reach is dominated by the super-root alone', () => {
  const g = graph(3, [
    [0, 2],
    [1, 2],
  ]);
  const tree = dominatorTree(g, [0, 1]);
  assert.deepEqual([...tree.idom], [SUPER_ROOT, SUPER_ROOT, SUPER_ROOT]);
  assert.deepEqual([...retainedSizes(tree, [1, 1, 5]).bytes], [1, 1, 5]);
});

test('nodes no root reaches are left out, or adopted when asked', () => {
  // 0 -> 1; 2 -> 3 (nothing refers to 2); 4 <-> 5 (a cycle nothing outside refers to)
  const g = graph(6, [
    [0, 1],
    [2, 3],
    [4, 5],
    [5, 4],
  ]);
  const plain = dominatorTree(g, [0]);
  assert.deepEqual([...plain.idom], [SUPER_ROOT, 0, UNREACHED, UNREACHED, UNREACHED, UNREACHED]);
  assert.deepEqual([...retainedSizes(plain, [1, 1, 1, 1, 1, 1]).bytes], [2, 1, 0, 0, 0, 0]);

  const adopted = dominatorTree(g, [0], { adoptUnreachable: true });
  assert.deepEqual([...adopted.adoptedRoots], [2, 4], 'unreferenced nodes first, then one node per orphaned cycle');
  assert.deepEqual([...adopted.idom], [SUPER_ROOT, 0, SUPER_ROOT, 2, SUPER_ROOT, 4]);
});

test('self-loops and repeated edges change nothing', () => {
  const g = graph(3, [
    [0, 0],
    [0, 1],
    [0, 1],
    [1, 1],
    [1, 2],
    [1, 2],
  ]);
  assert.deepEqual([...dominatorTree(g, [0]).idom], [SUPER_ROOT, 0, 1]);
});

test('the order lists every reached node after its dominators', () => {
  const g = graph(5, [
    [0, 1],
    [0, 2],
    [1, 3],
    [2, 3],
    [3, 4],
  ]);
  const tree = dominatorTree(g, [0]);
  const at = new Map([...tree.order].map((v, k) => [v, k]));
  assert.equal(tree.order.length, 5);
  for (const v of tree.order) if (tree.idom[v]! >= 0) assert.ok(at.get(tree.idom[v]!)! < at.get(v)!);
});

test('random graphs agree with the definition of a dominator', () => {
  const rand = seeded(7);
  for (let round = 0; round < 1000; round++) {
    const n = 2 + Math.floor(rand() * 14);
    const edges: [number, number][] = [];
    const m = Math.floor(rand() * n * 2.5);
    for (let k = 0; k < m; k++) edges.push([Math.floor(rand() * n), Math.floor(rand() * n)]);
    const roots = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => Math.floor(rand() * n)))];
    const g = graph(n, edges);
    assert.deepEqual([...dominatorTree(g, roots).idom], bruteForceIdom(g, roots), `round ${round}: ${JSON.stringify({ n, edges, roots })}`);
  }
});

test('a million-long cycle is handled without deep recursion', () => {
  // i -> i + 1, and the tail back to the head.
  const n = 1_000_000;
  const edgeStart = new Uint32Array(n + 1);
  const edgeTarget = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    edgeStart[i + 1] = i + 1;
    edgeTarget[i] = (i + 1) % n;
  }
  const g = { nodeCount: n, edgeStart, edgeTarget };
  const tree = dominatorTree(g, [0]);
  assert.equal(tree.idom[n - 1], n - 2);
  const r = retainedSizes(tree, new Float64Array(n).fill(1));
  assert.equal(r.bytes[0], n);
  assert.equal(r.count[n / 2], n / 2);
});

test('a million-long linked list reached from its middle too', () => {
  // The head and the middle are both roots: the middle's half is its own.
  const n = 1_000_000;
  const edges: [number, number][] = [];
  for (let i = 0; i + 1 < n; i++) edges.push([i, i + 1]);
  const g = graph(n, edges);
  const tree = dominatorTree(g, [0, n / 2]);
  assert.equal(tree.idom[n / 2], SUPER_ROOT);
  assert.equal(tree.idom[n / 2 + 1], n / 2);
  assert.equal(retainedSizes(tree, new Float64Array(n).fill(2)).bytes[0], n);
});

/**
 * Dominators as the fixed point of dataflow equations (Dom(v) = {v} + the
 * intersection of Dom(p) over v's predecessors p, the super-root's
 * successors being the roots), with bitsets: slow, and sure. Returns idom per
 * node and the nodes adoptUnreachable would add, by its definition.
 */
function dataflowDominators(g: CsrGraph, roots: readonly number[], adopt: boolean): { idom: number[]; adopted: number[] } {
  const n = g.nodeCount;
  const reached = new Array<boolean>(n).fill(false);
  const reach = (from: number): void => {
    const todo = [from];
    reached[from] = true;
    while (todo.length) {
      const u = todo.pop()!;
      for (let e = g.edgeStart[u]!; e < g.edgeStart[u + 1]!; e++) {
        const v = g.edgeTarget[e]!;
        if (!reached[v]) {
          reached[v] = true;
          todo.push(v);
        }
      }
    }
  };
  const allRoots = [...roots];
  for (const r of roots) if (!reached[r]) reach(r);
  const adopted: number[] = [];
  if (adopt) {
    const referred = new Array<boolean>(n).fill(false);
    for (let e = 0; e < g.edgeStart[n]!; e++) referred[g.edgeTarget[e]!] = true;
    for (const pass of [0, 1]) {
      for (let v = 0; v < n; v++) {
        if (!reached[v] && (pass === 1 || !referred[v])) {
          adopted.push(v);
          allRoots.push(v);
          reach(v);
        }
      }
    }
  }
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (let u = 0; u < n; u++) for (let e = g.edgeStart[u]!; e < g.edgeStart[u + 1]!; e++) preds[g.edgeTarget[e]!]!.push(u);
  const isRoot = new Array<boolean>(n).fill(false);
  for (const r of allRoots) isRoot[r] = true;
  // Bit n stands for the super-root; a reached node starts with every bit set.
  const words = (n + 1 + 31) >>> 5;
  const full = (): Uint32Array => new Uint32Array(words).fill(0xffffffff);
  const dom = Array.from({ length: n }, full);
  for (let changed = true; changed;) {
    changed = false;
    for (let v = 0; v < n; v++) {
      if (!reached[v]) continue;
      const next = full();
      if (isRoot[v]) {
        next.fill(0);
        next[n >>> 5]! |= 1 << (n & 31);
      }
      for (const p of preds[v]!) if (reached[p]) for (let i = 0; i < words; i++) next[i]! &= dom[p]![i]!;
      next[v >>> 5]! |= 1 << (v & 31);
      for (let i = 0; i < words; i++) {
        if (next[i] !== dom[v]![i]) {
          dom[v] = next;
          changed = true;
          break;
        }
      }
    }
  }
  const has = (set: Uint32Array, d: number): boolean => ((set[d >>> 5]! >>> (d & 31)) & 1) === 1;
  const size = (set: Uint32Array): number => set.reduce((sum, w) => sum + (w.toString(2).match(/1/g)?.length ?? 0), 0);
  // The immediate dominator is the strict dominator with the most dominators of its own.
  const idom = Array.from({ length: n }, (_, v) => {
    if (!reached[v]) return UNREACHED;
    let best = SUPER_ROOT;
    let bestSize = 0;
    for (let d = 0; d < n; d++) {
      if (d !== v && has(dom[v]!, d) && size(dom[d]!) > bestSize) {
        best = d;
        bestSize = size(dom[d]!);
      }
    }
    return best;
  });
  return { idom, adopted };
}

test('random graphs of up to 300 nodes agree with the dataflow definition, adopted roots and retained sizes included', () => {
  const rand = seeded(15);
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(rand() * (round < 200 ? 40 : 300));
    // Sparse to dense, with some graphs mostly chains (deep DFS trees, long compressed paths).
    const density = [0.5, 1, 2, 4][round % 4]!;
    const edges: [number, number][] = [];
    const m = Math.floor(rand() * n * density);
    for (let k = 0; k < m; k++) {
      const from = Math.floor(rand() * n);
      const to = round % 3 === 0 && rand() < 0.7 ? Math.min(n - 1, from + 1) : Math.floor(rand() * n);
      edges.push([from, to]);
    }
    const roots = Array.from({ length: Math.floor(rand() * 4) }, () => Math.floor(rand() * n)); // none, repeats
    const adopt = round % 2 === 1;
    const g = graph(n, edges);
    const tree = dominatorTree(g, roots, { adoptUnreachable: adopt });
    const expected = dataflowDominators(g, roots, adopt);
    const at = `round ${round}: ${JSON.stringify({ n, edges, roots, adopt })}`;
    assert.deepEqual([...tree.idom], expected.idom, at);
    assert.deepEqual([...tree.adoptedRoots], expected.adopted, at);

    // order: every reached node once, after its immediate dominator, which orderIdom points at.
    const reached = expected.idom.flatMap((d, v) => (d === UNREACHED ? [] : [v]));
    assert.deepEqual(
      [...tree.order].sort((a, b) => a - b),
      reached,
      at,
    );
    for (let k = 0; k < tree.order.length; k++) {
      const d = tree.orderIdom[k]!;
      assert.equal(d < 0 ? SUPER_ROOT : tree.order[d], tree.idom[tree.order[k]!], at);
      assert.ok(d < k, at);
    }

    // Retained sizes: each reached node's size added to every node on its dominator chain.
    const size = Array.from({ length: n }, () => 1 + Math.floor(rand() * 1000));
    const bytes = new Array<number>(n).fill(0);
    const count = new Array<number>(n).fill(0);
    for (const v of reached) {
      for (let d = v; d >= 0; d = expected.idom[d]!) {
        bytes[d]! += size[v]!;
        count[d]!++;
      }
    }
    const r = retainedSizes(tree, size);
    assert.deepEqual([...r.bytes], bytes, at);
    assert.deepEqual([...r.count], count, at);
  }
});
