/**
 * Who holds the heap: every object is counted under its nearest dominator
 * that has a name (a module, a module global, a class or class attribute, a
 * function, a thread's frame), so "module app.cache `_SESSIONS`" gets what
 * only _SESSIONS keeps alive. And the diff of two dumps: the objects of the
 * later one that the earlier did not have, by type and by holder.
 *
 * Pure: dumps in, numbers out (no I/O, no clock).
 */
import type { HeapDump } from '../heap/dumpFile.js';
import { NodeKind } from '../heap/dumpFile.js';
import { dominatorTree, retainedSizes, SUPER_ROOT, type DominatorTree, type RetainedSizes } from './dominators.js';

/** What one signal says, with the numbers that decided it (the shape other analysers use). */
export interface Finding {
  signal: string;
  status: 'issue' | 'none' | 'insufficient-data';
  summary: string;
  numbers: Record<string, number | null>;
}

export type HolderKind =
  | 'module'
  | 'global'
  | 'class'
  | 'class attribute'
  | 'function'
  | 'frame'
  /** memwhy's own agent: its frames and what only they hold. */
  | 'agent'
  /** Objects no other object of the dump refers to, and what they hold: held by C code, or garbage awaiting collection. */
  | 'unreferenced'
  /** Objects several roots reach, with no one holder below the roots. */
  | 'shared';

const UNREFERENCED_NAME = 'objects nothing in the dump refers to (held by C code, or garbage not yet collected)';
const AGENT_NAME = "memwhy's agent (not the program's)";
const SHARED_NAME = 'objects reachable from several roots, no single holder';

export interface TypeTotal {
  type: string;
  count: number;
  bytes: number;
}

export interface Part {
  /** How the holder reaches it: "['9f1c...']", ".user", or its type when the reference has no name. */
  label: string;
  type: string;
  bytes: number;
  count: number;
}

export interface Retainer {
  name: string;
  kind: HolderKind;
  /** Bytes and objects counted under this holder (the rows partition the heap). */
  bytes: number;
  count: number;
  /** Everything the holder keeps alive, including what is listed under named holders inside it. */
  retained_bytes: number;
  retained_count: number;
  /** The largest types among `count`. */
  types: TypeTotal[];
  /** The largest things it holds directly (its dominator-tree children), by retained size. */
  largest: Part[];
}

export interface HeapSummary {
  path: string;
  python: string;
  pid: number;
  dumped_at: number;
  pause_ms: number;
  objects: number;
  bytes: number;
  references: number;
  roots: number;
  /** Objects nothing in the dump refers to, made roots so that all is accounted. */
  unreferenced_roots: number;
  dropped_references: number;
}

export interface HeapAnalysis {
  summary: HeapSummary;
  retainers: Retainer[];
  types: TypeTotal[];
}

/** Dominators, retained sizes and each object's holder group, for reuse by the diff. */
export interface HeapGroups {
  tree: DominatorTree;
  retained: RetainedSizes;
  /** Group names, kinds, totals; groupOf[node] indexes them. */
  names: string[];
  kinds: HolderKind[];
  groupOf: Int32Array;
  bytes: Float64Array;
  count: Float64Array;
  /** The named nodes of each group (a module and its dict; a class and its dict; every closure of one name). */
  holders: number[][];
  /** Per node: 1 when it has a name (it holds a group). */
  named: Uint8Array;
}

/**
 * The dump's dominator tree and every object's retained size, as `analyze`
 * counts them: objects no root reaches are adopted as roots of their own.
 * `diagnose --dump` sizes its holders with the same, so the two agree.
 */
export function dominatorsOf(dump: HeapDump): { tree: DominatorTree; retained: RetainedSizes } {
  const tree = dominatorTree(dump, dump.roots, { adoptUnreachable: true });
  return { tree, retained: retainedSizes(tree, dump.nodeSize) };
}

/** The shallow bytes of every object in the dump. */
export function heapBytes(dump: HeapDump): number {
  let bytes = 0;
  for (let v = 0; v < dump.nodeCount; v++) bytes += dump.nodeSize[v]!;
  return bytes;
}

export function groupHeap(dump: HeapDump): HeapGroups {
  const { tree, retained } = dominatorsOf(dump);
  const { names: nodeName, kinds: nodeKind } = nameNodes(dump);

  const names: string[] = [UNREFERENCED_NAME, SHARED_NAME];
  const kinds: HolderKind[] = ['unreferenced', 'shared'];
  const holders: number[][] = [[], []];
  const groupByName = new Map<string, number>();
  const adopted = new Uint8Array(dump.nodeCount);
  for (const v of tree.adoptedRoots) adopted[v] = 1;

  const groupOf = new Int32Array(dump.nodeCount).fill(-1);
  const named = new Uint8Array(dump.nodeCount);
  const { order, idom } = tree;
  for (let k = 0; k < order.length; k++) {
    const v = order[k]!;
    const name = nodeName.get(v);
    let g: number;
    if (name !== undefined) {
      g = groupByName.get(name) ?? -1;
      if (g < 0) {
        g = names.length;
        names.push(name);
        kinds.push(nodeKind.get(v)!);
        holders.push([]);
        groupByName.set(name, g);
      }
      holders[g]!.push(v);
      named[v] = 1;
    } else {
      const d = idom[v]!;
      if (d >= 0) g = groupOf[d]!;
      else g = d === SUPER_ROOT && adopted[v] ? 0 : 1;
    }
    groupOf[v] = g;
  }
  const bytes = new Float64Array(names.length);
  const count = new Float64Array(names.length);
  for (let v = 0; v < dump.nodeCount; v++) {
    const g = groupOf[v]!;
    if (g < 0) continue;
    bytes[g]! += dump.nodeSize[v]!;
    count[g]!++;
  }
  return { tree, retained, names, kinds, groupOf, bytes, count, holders, named };
}

/**
 * Names for the nodes that can hold a group: what the writer labelled
 * (modules, classes, functions, frames; a module's or class's dict takes its
 * owner's name, so the two make one group), and the values of module globals
 * and class attributes.
 */
function nameNodes(dump: HeapDump): { names: Map<number, string>; kinds: Map<number, HolderKind> } {
  const names = new Map<number, string>();
  const kinds = new Map<number, HolderKind>();
  const set = (v: number, name: string, kind: HolderKind): void => {
    names.set(v, name);
    kinds.set(v, kind);
  };
  for (const [v, l] of dump.nodeLabels) {
    // The agent's modules are exec'd as "__memwhy_NAME__": their classes and functions are the agent's.
    if (l.text.startsWith('__memwhy_')) {
      set(v, AGENT_NAME, 'agent');
      continue;
    }
    switch (l.kind) {
      case NodeKind.module:
      case NodeKind.moduleDict:
        set(v, `module ${l.text}`, 'module');
        break;
      case NodeKind.class:
      case NodeKind.classDict:
        set(v, `class ${l.text}`, 'class');
        break;
      case NodeKind.function:
        set(v, `function ${l.text}`, 'function');
        break;
      case NodeKind.frame:
        set(v, `frame ${l.text}`, 'frame');
        break;
      case NodeKind.agent:
        set(v, AGENT_NAME, 'agent');
        break;
    }
  }
  // Globals second, so a class or module keeps its own name when it is also a global.
  for (const [d, l] of dump.nodeLabels) {
    if (l.kind !== NodeKind.moduleDict && l.kind !== NodeKind.classDict) continue;
    const owner = l.kind === NodeKind.moduleDict ? `module ${l.text}` : `class ${l.text}`;
    const kind: HolderKind = l.kind === NodeKind.moduleDict ? 'global' : 'class attribute';
    forEachLabelledEdge(dump, d, (pos, text) => {
      const t = dump.edgeTarget[pos]!;
      if (names.has(t)) return;
      set(t, `${owner} \`${text.startsWith('.') ? text.slice(1) : text}\``, kind);
    });
  }
  return { names, kinds };
}

function forEachLabelledEdge(dump: HeapDump, node: number, fn: (pos: number, text: string) => void): void {
  const from = dump.edgeStart[node]!;
  const to = dump.edgeStart[node + 1]!;
  const pos = dump.edgeLabelPos;
  let lo = 0;
  let hi = pos.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pos[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo; k < pos.length && pos[k]! < to; k++) fn(pos[k]!, dump.string(dump.edgeLabelText[k]!));
}

export interface AnalyzeOptions {
  /** Rows in each table. */
  top: number;
}

export function analyzeHeap(dump: HeapDump, groups: HeapGroups, opts: AnalyzeOptions): HeapAnalysis {
  const top = topGroups(groups, opts.top);
  const typesOf = typeTotalsPerGroup(dump, groups, top, 3);
  const largest = largestParts(dump, groups, top, 3);
  const retainers: Retainer[] = top.map((g) => {
    let retainedBytes = 0;
    let retainedCount = 0;
    for (const h of groups.holders[g]!) {
      // A module's dict sits under the module: count the outermost holders only.
      const d = groups.tree.idom[h]!;
      if (d >= 0 && groups.named[d] && groups.groupOf[d] === g) continue;
      retainedBytes += groups.retained.bytes[h]!;
      retainedCount += groups.retained.count[h]!;
    }
    if (groups.holders[g]!.length === 0) {
      retainedBytes = groups.bytes[g]!;
      retainedCount = groups.count[g]!;
    }
    return {
      name: groups.names[g]!,
      kind: groups.kinds[g]!,
      bytes: groups.bytes[g]!,
      count: groups.count[g]!,
      retained_bytes: retainedBytes,
      retained_count: retainedCount,
      types: typesOf.get(g) ?? [],
      largest: largest.get(g) ?? [],
    };
  });
  return { summary: summarize(dump, groups), retainers, types: typeTotals(dump).slice(0, opts.top) };
}

export function summarize(dump: HeapDump, groups: HeapGroups): HeapSummary {
  return {
    path: dump.path,
    python: dump.meta.python,
    pid: dump.meta.pid,
    dumped_at: dump.meta.started_at,
    pause_ms: dump.meta.pause_ms,
    objects: dump.nodeCount,
    bytes: heapBytes(dump),
    references: dump.edgeTarget.length,
    roots: dump.roots.length,
    unreferenced_roots: groups.tree.adoptedRoots.length,
    dropped_references: dump.droppedEdges,
  };
}

function topGroups(groups: HeapGroups, top: number): number[] {
  const ids = Array.from({ length: groups.names.length }, (_, g) => g).filter((g) => groups.count[g]! > 0);
  ids.sort((a, b) => groups.bytes[b]! - groups.bytes[a]! || groups.count[b]! - groups.count[a]!);
  return ids.slice(0, top);
}

export function typeTotals(dump: HeapDump, select?: (v: number) => boolean): TypeTotal[] {
  const count = new Float64Array(dump.typeNames.length);
  const bytes = new Float64Array(dump.typeNames.length);
  for (let v = 0; v < dump.nodeCount; v++) {
    if (select && !select(v)) continue;
    const t = dump.nodeType[v]!;
    count[t]!++;
    bytes[t]! += dump.nodeSize[v]!;
  }
  return sortedTypes(dump.typeNames, count, bytes);
}

function sortedTypes(typeNames: readonly string[], count: Float64Array, bytes: Float64Array): TypeTotal[] {
  // Two types can share a name (a class defined twice): merge them.
  const byName = new Map<string, TypeTotal>();
  for (let t = 0; t < typeNames.length; t++) {
    if (count[t] === 0) continue;
    const name = typeNames[t]!;
    const e = byName.get(name);
    if (e) {
      e.count += count[t]!;
      e.bytes += bytes[t]!;
    } else byName.set(name, { type: name, count: count[t]!, bytes: bytes[t]! });
  }
  return [...byName.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.type.localeCompare(b.type));
}

function typeTotalsPerGroup(dump: HeapDump, groups: HeapGroups, top: number[], n: number): Map<number, TypeTotal[]> {
  const slot = new Int32Array(groups.names.length).fill(-1);
  top.forEach((g, k) => (slot[g] = k));
  const nt = dump.typeNames.length;
  const count = new Float64Array(top.length * nt);
  const bytes = new Float64Array(top.length * nt);
  for (let v = 0; v < dump.nodeCount; v++) {
    const g = groups.groupOf[v]!;
    if (g < 0 || slot[g]! < 0) continue;
    const i = slot[g]! * nt + dump.nodeType[v]!;
    count[i]!++;
    bytes[i]! += dump.nodeSize[v]!;
  }
  const out = new Map<number, TypeTotal[]>();
  top.forEach((g, k) => {
    out.set(g, sortedTypes(dump.typeNames, count.subarray(k * nt, (k + 1) * nt), bytes.subarray(k * nt, (k + 1) * nt)).slice(0, n));
  });
  return out;
}

/** The n largest dominator-tree children of each group's holders that stay in the group. */
function largestParts(dump: HeapDump, groups: HeapGroups, top: number[], n: number): Map<number, Part[]> {
  const wanted = new Set(top);
  const best = new Map<number, number[]>();
  const { idom } = groups.tree;
  const rb = groups.retained.bytes;
  // v is a part of group g when g's holder holds it directly; for the two
  // groups without a holder, their top-level objects are the parts.
  const groupOf = (v: number, d: number): number => {
    const g = groups.groupOf[v]!;
    if (!wanted.has(g)) return -1;
    if (d < 0) return groups.holders[g]!.length === 0 ? g : -1;
    return groups.groupOf[d] === g && groups.named[d] && !groups.named[v] ? g : -1;
  };
  for (let v = 0; v < dump.nodeCount; v++) {
    const d = idom[v]!;
    const g = groupOf(v, d);
    if (g < 0) continue;
    let list = best.get(g);
    if (!list) best.set(g, (list = []));
    if (list.length < n || rb[v]! > rb[list[list.length - 1]!]!) {
      list.push(v);
      list.sort((a, b) => rb[b]! - rb[a]!);
      if (list.length > n) list.pop();
    }
  }
  const out = new Map<number, Part[]>();
  for (const [g, list] of best) {
    out.set(
      g,
      list.map((v) => ({
        label: (idom[v]! >= 0 ? edgeLabelBetween(dump, idom[v]!, v) : undefined) ?? dump.typeNames[dump.nodeType[v]!]!,
        type: dump.typeNames[dump.nodeType[v]!]!,
        bytes: rb[v]!,
        count: groups.retained.count[v]!,
      })),
    );
  }
  return out;
}

/** How `from` refers to `to`: the writer's label, or [i] for a list's or tuple's item (they list their items in order). */
export function edgeLabelBetween(dump: HeapDump, from: number, to: number): string | undefined {
  const first = dump.edgeStart[from]!;
  const sequence = SEQUENCE_TYPES.has(dump.typeNames[dump.nodeType[from]!]!);
  for (let e = first; e < dump.edgeStart[from + 1]!; e++) {
    if (dump.edgeTarget[e] !== to) continue;
    const label = dump.edgeLabel(e);
    if (label !== undefined) return label;
    if (sequence) return `[${e - first}]`;
  }
  return undefined;
}

const SEQUENCE_TYPES = new Set(['list', 'tuple']);

// --- The diff of two dumps --------------------------------------------------

export interface GroupChange {
  name: string;
  before_bytes: number;
  after_bytes: number;
  delta_bytes: number;
  before_count: number;
  after_count: number;
}

export interface NewByHolder {
  name: string;
  kind: HolderKind;
  count: number;
  bytes: number;
}

export interface HeapDiff {
  finding: Finding;
  before: HeapSummary;
  after: HeapSummary;
  /** Objects of the later dump with no object of the same type at the same address in the earlier. */
  new_objects: { count: number; bytes: number };
  /** Objects of the earlier dump that the later has not (same rule). */
  gone_objects: { count: number; bytes: number };
  new_by_type: TypeTotal[];
  new_by_holder: NewByHolder[];
  /** Holders by how much their share of the heap changed, largest growth first. */
  holders: GroupChange[];
  caveat: string;
}

export const ADDRESS_REUSE_CAVEAT =
  'objects are matched by address and type; an address freed and reused by a new object of the same type ' +
  'counts as the same object, so "new" is a lower bound on what was allocated between the dumps';

/** Objects of b with no object of the same type at the same address in a (isNew), and a's objects that b kept (matchedA). */
export function matchObjects(a: HeapDump, b: HeapDump): { isNew: Uint8Array; matchedA: Uint8Array } {
  // b's type index -> a's, by name.
  const aTypes = new Map<string, number>();
  a.typeNames.forEach((name, t) => {
    if (!aTypes.has(name)) aTypes.set(name, t);
  });
  const typeInA = Int32Array.from(b.typeNames, (name) => aTypes.get(name) ?? -1);
  const matchedA = new Uint8Array(a.nodeCount);
  const isNew = new Uint8Array(b.nodeCount);
  for (let v = 0; v < b.nodeCount; v++) {
    const u = a.nodeAt(b.address[v]!);
    if (u >= 0 && a.nodeType[u] === typeInA[b.nodeType[v]!]) matchedA[u] = 1;
    else isNew[v] = 1;
  }
  return { isNew, matchedA };
}

export function diffHeaps(a: HeapDump, ga: HeapGroups, b: HeapDump, gb: HeapGroups, opts: AnalyzeOptions, matched = matchObjects(a, b)): HeapDiff {
  const { isNew, matchedA } = matched;
  let newCount = 0;
  let newBytes = 0;
  for (let v = 0; v < b.nodeCount; v++) {
    if (isNew[v]) {
      newCount++;
      newBytes += b.nodeSize[v]!;
    }
  }
  let goneCount = 0;
  let goneBytes = 0;
  for (let u = 0; u < a.nodeCount; u++) {
    if (!matchedA[u]) {
      goneCount++;
      goneBytes += a.nodeSize[u]!;
    }
  }

  const perGroupCount = new Float64Array(gb.names.length);
  const perGroupBytes = new Float64Array(gb.names.length);
  for (let v = 0; v < b.nodeCount; v++) {
    if (!isNew[v]) continue;
    const g = gb.groupOf[v]!;
    if (g < 0) continue;
    perGroupCount[g]!++;
    perGroupBytes[g]! += b.nodeSize[v]!;
  }
  const newByHolder: NewByHolder[] = [];
  for (let g = 0; g < gb.names.length; g++) {
    if (perGroupCount[g]! > 0) newByHolder.push({ name: gb.names[g]!, kind: gb.kinds[g]!, count: perGroupCount[g]!, bytes: perGroupBytes[g]! });
  }
  newByHolder.sort((x, y) => y.bytes - x.bytes || y.count - x.count);

  const before = new Map<string, { bytes: number; count: number }>();
  ga.names.forEach((name, g) => before.set(name, { bytes: ga.bytes[g]!, count: ga.count[g]! }));
  const changes: GroupChange[] = [];
  const seen = new Set<string>();
  gb.names.forEach((name, g) => {
    seen.add(name);
    const was = before.get(name) ?? { bytes: 0, count: 0 };
    changes.push({
      name,
      before_bytes: was.bytes,
      after_bytes: gb.bytes[g]!,
      delta_bytes: gb.bytes[g]! - was.bytes,
      before_count: was.count,
      after_count: gb.count[g]!,
    });
  });
  for (const [name, was] of before) {
    if (!seen.has(name)) {
      changes.push({ name, before_bytes: was.bytes, after_bytes: 0, delta_bytes: -was.bytes, before_count: was.count, after_count: 0 });
    }
  }
  changes.sort((x, y) => y.delta_bytes - x.delta_bytes);

  const beforeSummary = summarize(a, ga);
  const afterSummary = summarize(b, gb);
  return {
    finding: growthFinding(beforeSummary, afterSummary, newBytes, newByHolder[0]),
    before: beforeSummary,
    after: afterSummary,
    new_objects: { count: newCount, bytes: newBytes },
    gone_objects: { count: goneCount, bytes: goneBytes },
    new_by_type: typeTotals(b, (v) => isNew[v] === 1).slice(0, opts.top),
    new_by_holder: newByHolder.slice(0, opts.top),
    holders: changes.filter((c) => c.delta_bytes !== 0).slice(0, opts.top),
    caveat: ADDRESS_REUSE_CAVEAT,
  };
}

function growthFinding(before: HeapSummary, after: HeapSummary, newBytes: number, topHolder: NewByHolder | undefined): Finding {
  const growth = after.bytes - before.bytes;
  const numbers = {
    before_bytes: before.bytes,
    after_bytes: after.bytes,
    growth_bytes: growth,
    new_bytes: newBytes,
    top_holder_new_bytes: topHolder?.bytes ?? null,
  };
  if (before.pid !== after.pid || before.python !== after.python) {
    return {
      signal: 'heap-growth',
      status: 'insufficient-data',
      summary: `the dumps come from different processes (pid ${before.pid}, Python ${before.python} vs pid ${after.pid}, Python ${after.python}): addresses do not match`,
      numbers,
    };
  }
  if (growth <= 0) {
    return { signal: 'heap-growth', status: 'none', summary: 'the Python heap did not grow between the dumps', numbers };
  }
  return {
    signal: 'heap-growth',
    status: 'issue',
    summary: topHolder ? `the Python heap grew; most new objects are held by ${topHolder.name}` : 'the Python heap grew',
    numbers,
  };
}
