/**
 * The dominator tree of a heap dump, pruned to what a browser page holds
 * easily, for the explorer (`memwhy analyze DUMP --html FILE`).
 *
 * Kept: every object whose retained size is at least `minShare` of the heap
 * (they form a subtree from the top, since a holder retains at least what
 * its children do), largest first up to `maxHolders`, and the `topChildren`
 * largest children of each, so every kept holder shows what it holds. What
 * is left out is counted per holder ("12,000 more objects, 3.1 MiB"), and
 * each holder's children, kept or not, are also totalled by type.
 *
 * Each kept object has a path from a root: the shortest chain of references
 * (breadth-first from the roots), shortened in the middle when long. Paths
 * share their steps, so a thousand objects under one dict cost one path.
 *
 * Pure: dump and dominators in, a plain document out.
 */
import type { HeapDump } from '../heap/dumpFile.js';
import { retainedSizes, SUPER_ROOT } from './dominators.js';
import { edgeLabelBetween, type HeapDiff, type HeapGroups, type HeapSummary } from './retainers.js';

export interface ExplorerOptions {
  /** Keep holders retaining at least this share of the heap (0.0005: 0.05 %). */
  minShare: number;
  /** Children kept under each kept holder, largest first, whatever their size. */
  topChildren: number;
  /** At most this many holders: a heap of long chains (a linked list) would otherwise keep one per link. */
  maxHolders: number;
  /** Steps of a path shown at its end (nearest the object); the root is always shown. */
  pathSteps: number;
}

export const EXPLORER_DEFAULTS: ExplorerOptions = { minShare: 0.0005, topChildren: 5, maxHolders: 5000, pathSteps: 12 };

export interface TreeNode {
  /** Index into HeapTree.types. */
  type: number;
  /** How its holder refers to it (".name", "['key']", "[3]") or what the dump calls it ("module app.cache"); '' when neither. */
  name: string;
  shallow: number;
  retained: number;
  /** Objects retained, itself included. */
  count: number;
  /** The kept holder's node id, or -1 at the top. */
  parent: number;
  /** Kept children, largest retained first. */
  children: number[];
  /** Direct children (in the dominator tree) not kept: how many, and what they retain. */
  more: { count: number; bytes: number };
  /** Every direct child, kept or not, by type: [type index, objects, retained bytes], largest first. */
  byType: [number, number, number][];
  /** The last step of its path from a root (index into HeapTree.steps). */
  path: number;
  /** Nothing in the dump refers to it: made a root so that everything is counted. */
  unreferenced?: boolean;
  /** With two dumps: the object is new in the later one. */
  isNew?: boolean;
  /** With two dumps: bytes of new objects it retains. */
  newBytes?: number;
}

export interface PathStep {
  /** The step before (nearer the root), or -1 for a root. */
  up: number;
  type: number;
  /** How the step before refers to this object, when the dump knows. */
  via: string;
  /** What the dump calls it (module, class, function, frame), or ''. */
  name: string;
  /** Its node id when it is in the tree, or -1. */
  node: number;
  /** References left out between `up` and this step. */
  skipped: number;
}

export interface Pruning {
  min_share: number;
  min_bytes: number;
  top_children: number;
  max_holders: number;
  /** Holders retaining at least min_bytes that were kept, and that were left out by max_holders. */
  holders_kept: number;
  holders_dropped: number;
  nodes_kept: number;
  /** Objects of the dump not shown as their own row (counted in their holder's "more"). */
  objects_hidden: number;
}

export interface HeapTree {
  summary: HeapSummary;
  types: string[];
  nodes: TreeNode[];
  /** Kept children of the virtual root, largest first. */
  top: number[];
  /** The virtual root's children not kept. */
  more: { count: number; bytes: number };
  steps: PathStep[];
  pruning: Pruning;
  /** With two dumps: what grew between them, and the earlier dump's summary. */
  diff?: { table: HeapDiff; grew: number[] };
}

export interface TreeInput {
  dump: HeapDump;
  groups: HeapGroups;
  summary: HeapSummary;
  /** With two dumps: per object of `dump` (the later one), 1 when it is new. */
  isNew?: Uint8Array;
  diff?: HeapDiff;
}

export function explorerTree(input: TreeInput, opts: ExplorerOptions = EXPLORER_DEFAULTS): HeapTree {
  const { dump, groups, summary } = input;
  const { tree, retained } = groups;
  const { order, orderIdom } = tree;
  const r = order.length;
  const minBytes = Math.max(1, summary.bytes * opts.minShare);

  // Children of each preorder position, largest retained first (position r stands for the virtual root).
  const childStart = new Int32Array(r + 2);
  for (let k = 0; k < r; k++) childStart[(orderIdom[k]! < 0 ? r : orderIdom[k]!) + 1]!++;
  for (let k = 0; k <= r; k++) childStart[k + 1]! += childStart[k]!;
  const childList = new Int32Array(r);
  const fill = childStart.slice(0, r + 1);
  for (let k = 0; k < r; k++) childList[fill[orderIdom[k]! < 0 ? r : orderIdom[k]!]!++] = k;
  const rb = (k: number): number => retained.bytes[order[k]!]!;
  const children = (k: number): Int32Array => childList.subarray(childStart[k]!, childStart[k + 1]!);

  // Holders, largest first: a max-heap of positions whose holder is kept.
  const keptAt = new Map<number, number>(); // position -> node id
  const heap: number[] = [];
  const push = (k: number): void => {
    heap.push(k);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (rb(heap[p]!) >= rb(heap[i]!)) break;
      [heap[p], heap[i]] = [heap[i]!, heap[p]!];
      i = p;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const a = 2 * i + 1;
        const b = a + 1;
        let m = i;
        if (a < heap.length && rb(heap[a]!) > rb(heap[m]!)) m = a;
        if (b < heap.length && rb(heap[b]!) > rb(heap[m]!)) m = b;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        i = m;
      }
    }
    return top;
  };
  for (const k of children(r)) if (rb(k) >= minBytes) push(k);
  const holders: number[] = [];
  while (heap.length > 0 && holders.length < opts.maxHolders) {
    const k = pop();
    holders.push(k);
    keptAt.set(k, -1);
    for (const c of children(k)) if (rb(c) >= minBytes) push(c);
  }
  const holdersDropped = heap.length;

  // The kept set: holders, and the largest children of each holder and of the virtual root.
  const largest = (k: number): number[] => {
    const list = [...children(k)];
    list.sort((x, y) => rb(y) - rb(x));
    return list;
  };
  const kept = new Set<number>(holders);
  const sorted = new Map<number, number[]>();
  for (const k of [r, ...holders]) {
    const list = largest(k);
    sorted.set(k, list);
    for (const c of list.slice(0, opts.topChildren)) kept.add(c);
  }
  // Node ids in preorder, so a parent's id is below its children's.
  const positions = [...kept].sort((x, y) => x - y);
  positions.forEach((k, id) => keptAt.set(k, id));

  const typeIds = new Map<string, number>();
  const types: string[] = [];
  const typeOf = (v: number): number => {
    const name = dump.typeNames[dump.nodeType[v]!]!;
    let t = typeIds.get(name);
    if (t === undefined) {
      t = types.length;
      types.push(name);
      typeIds.set(name, t);
    }
    return t;
  };
  const adopted = new Uint8Array(dump.nodeCount);
  for (const v of tree.adoptedRoots) adopted[v] = 1;
  const newRetained = input.isNew
    ? retainedSizes(
        tree,
        Float64Array.from(dump.nodeSize, (s, v) => (input.isNew![v] ? s : 0)),
      ).bytes
    : undefined;

  const steps = pathSteps(dump, opts.pathSteps, typeOf);
  const nodes: TreeNode[] = positions.map((k) => {
    const v = order[k]!;
    const d = orderIdom[k]!;
    const label = dump.nodeLabels.get(v);
    const name = label?.text ?? (d >= 0 ? edgeLabelBetween(dump, order[d]!, v) : undefined) ?? '';
    const node: TreeNode = {
      type: typeOf(v),
      name,
      shallow: dump.nodeSize[v]!,
      retained: retained.bytes[v]!,
      count: retained.count[v]!,
      parent: d >= 0 ? (keptAt.get(d) ?? -1) : -1,
      children: [],
      more: { count: 0, bytes: 0 },
      byType: [],
      path: steps.stepOf(v),
    };
    if (tree.idom[v] === SUPER_ROOT && adopted[v]) node.unreferenced = true;
    if (input.isNew) {
      if (input.isNew[v]) node.isNew = true;
      node.newBytes = newRetained![v]!;
    }
    return node;
  });
  for (const k of positions) steps.markNode(order[k]!, keptAt.get(k)!);

  const describeChildren = (k: number): { ids: number[]; more: { count: number; bytes: number }; byType: [number, number, number][] } => {
    const list = sorted.get(k) ?? largest(k);
    const ids: number[] = [];
    const more = { count: 0, bytes: 0 };
    const perType = new Map<number, [number, number, number]>();
    for (const c of list) {
      const id = keptAt.get(c);
      if (id !== undefined && id >= 0) ids.push(id);
      else {
        more.count++;
        more.bytes += rb(c);
      }
      const t = typeOf(order[c]!);
      const e = perType.get(t) ?? [t, 0, 0];
      e[1]++;
      e[2] += rb(c);
      perType.set(t, e);
    }
    const byType = [...perType.values()].sort((x, y) => y[2] - x[2]).slice(0, 12);
    return { ids, more, byType };
  };
  const isHolder = new Set(holders);
  positions.forEach((k, id) => {
    const node = nodes[id]!;
    if (isHolder.has(k)) {
      const c = describeChildren(k);
      node.children = c.ids;
      node.more = c.more;
      node.byType = c.byType;
    } else {
      // A kept child below the threshold: its own children are all left out.
      node.more = { count: childStart[k + 1]! - childStart[k]!, bytes: node.retained - node.shallow };
    }
  });
  const topLevel = describeChildren(r);

  const result: HeapTree = {
    summary,
    types,
    nodes,
    top: topLevel.ids,
    more: topLevel.more,
    steps: steps.list,
    pruning: {
      min_share: opts.minShare,
      min_bytes: minBytes,
      top_children: opts.topChildren,
      max_holders: opts.maxHolders,
      holders_kept: holders.length,
      holders_dropped: holdersDropped,
      nodes_kept: nodes.length,
      objects_hidden: dump.nodeCount - nodes.length,
    },
  };
  if (input.diff && input.isNew) result.diff = { table: input.diff, grew: whatGrew(nodes) };
  return result;
}

/**
 * The kept holders where new objects gather: each holds new bytes that no one
 * of its kept children accounts for most of (a holder that only passes its
 * child's growth up is left out), largest first.
 */
function whatGrew(nodes: readonly TreeNode[]): number[] {
  const out: number[] = [];
  nodes.forEach((n, id) => {
    const own = n.newBytes ?? 0;
    if (own <= 0) return;
    const biggestChild = Math.max(0, ...n.children.map((c) => nodes[c]!.newBytes ?? 0));
    if (biggestChild < 0.8 * own) out.push(id);
  });
  out.sort((a, b) => (nodes[b]!.newBytes ?? 0) - (nodes[a]!.newBytes ?? 0));
  return out.slice(0, 50);
}

interface Steps {
  list: PathStep[];
  stepOf(v: number): number;
  markNode(v: number, id: number): void;
}

/**
 * Shortest reference paths from the roots (then from the objects nothing
 * refers to), breadth-first over the whole dump; a step per object on a
 * shown path, shared between paths.
 */
function pathSteps(dump: HeapDump, shown: number, typeOf: (v: number) => number): Steps {
  const n = dump.nodeCount;
  const from = new Int32Array(n).fill(-2); // -1: a root
  const rootOf = new Int32Array(n);
  const depth = new Uint32Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  const seed = (v: number): void => {
    if (from[v] !== -2) return;
    from[v] = -1;
    rootOf[v] = v;
    queue[tail++] = v;
  };
  const drain = (): void => {
    while (head < tail) {
      const u = queue[head++]!;
      for (let e = dump.edgeStart[u]!, end = dump.edgeStart[u + 1]!; e < end; e++) {
        const t = dump.edgeTarget[e]!;
        if (from[t] !== -2) continue;
        from[t] = u;
        rootOf[t] = rootOf[u]!;
        depth[t] = depth[u]! + 1;
        queue[tail++] = t;
      }
    }
  };
  for (const v of dump.roots) seed(v);
  drain();
  // What no root reaches hangs off an object nothing refers to, or a cycle nothing outside refers to.
  const referred = new Uint8Array(n);
  for (let e = 0; e < dump.edgeTarget.length; e++) referred[dump.edgeTarget[e]!] = 1;
  const seedAndDrain = (v: number): void => {
    seed(v);
    drain();
  };
  for (let v = 0; v < n; v++) if (from[v] === -2 && !referred[v]) seedAndDrain(v);
  for (let v = 0; v < n; v++) if (from[v] === -2) seedAndDrain(v);

  const list: PathStep[] = [];
  const stepAt = new Map<number, number>();
  const make = (v: number, up: number, via: string, skipped: number): number => {
    const id = list.length;
    list.push({ up, type: typeOf(v), via, name: dump.nodeLabels.get(v)?.text ?? '', node: -1, skipped });
    stepAt.set(v, id);
    return id;
  };
  const stepOf = (v: number): number => {
    const known = stepAt.get(v);
    if (known !== undefined) return known;
    // The chain from v up, at most `shown` objects, then the root.
    const chain: number[] = [];
    let u = v;
    while (from[u]! >= 0 && chain.length < shown && !stepAt.has(u)) {
      chain.push(u);
      u = from[u]!;
    }
    let up: number;
    if (stepAt.has(u)) up = stepAt.get(u)!;
    else if (from[u] === -1) up = make(u, -1, '', 0);
    else {
      // Cut: the root, then the chain's top after the references in between.
      const root = rootOf[u]!;
      const rootStep = stepAt.get(root) ?? make(root, -1, '', 0);
      up = make(u, rootStep, via(from[u]!, u), depth[u]! - 1);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const w = chain[i]!;
      up = make(w, up, via(from[w]!, w), 0);
    }
    return up;
  };
  const via = (holder: number, v: number): string => edgeLabelBetween(dump, holder, v) ?? '';
  return {
    list,
    stepOf,
    markNode(v, id) {
      const s = stepAt.get(v);
      if (s !== undefined) list[s]!.node = id;
    },
  };
}
