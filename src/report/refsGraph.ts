/**
 * The referrer graph of `memwhy refs --graph` as Graphviz DOT or as a
 * standalone SVG. The SVG is laid out here, without graphviz or a layout
 * library: the graph is a few chains from roots down to the samples, which
 * a layered (Sugiyama-style) layout draws well in a hundred lines:
 * layers by longest path from a root, order in a layer by the barycenter
 * of the neighbours, nodes packed and centred per layer.
 */
import type { GraphEdge, GraphNode } from '../collect/refs.js';
import { escapeXml } from './svgChart.js';

export interface RefGraph {
  nodes: readonly GraphNode[];
  edges: readonly GraphEdge[];
  title?: string;
}

/** Okabe-Ito colours (see svgChart.ts), light fills for the node kinds. */
const FILL: Record<GraphNode['kind'], string> = {
  module: '#cfe3f3',
  class: '#cfe3f3',
  frame: '#cfe3f3',
  garbage: '#f5d0c0',
  object: '#f2f2f2',
  target: '#fbe3b8',
  referrer: '#ffffff',
};
const STROKE: Record<GraphNode['kind'], string> = {
  module: '#0072B2',
  class: '#0072B2',
  frame: '#0072B2',
  garbage: '#D55E00',
  object: '#777777',
  target: '#E69F00',
  referrer: '#aaaaaa',
};

const MAX_LABEL = 48;

function clip(text: string, max = MAX_LABEL): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

// --- DOT ---------------------------------------------------------------------------

function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** The marker by which memwhy knows its own graph file before replacing it (util/outputFile.ts). */
function generator(memwhyVersion: string | undefined): string {
  return memwhyVersion ? `generator: memwhy ${memwhyVersion}` : 'generator: memwhy';
}

export function renderDot(g: RefGraph, memwhyVersion?: string): string {
  const lines = [
    'digraph refs {',
    `  // ${generator(memwhyVersion)}`,
    '  rankdir=TB;',
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  if (g.title) lines.push(`  label=${dotString(g.title)}; labelloc=t;`);
  for (const n of g.nodes) {
    const dashed = n.kind === 'referrer' ? ', style="rounded,filled,dashed"' : '';
    lines.push(`  ${dotString(n.id)} [label=${dotString(`${n.label}\n${n.id}`)}, fillcolor=${dotString(FILL[n.kind])}, color=${dotString(STROKE[n.kind])}${dashed}];`);
  }
  for (const e of g.edges) {
    lines.push(`  ${dotString(e.from)} -> ${dotString(e.to)}${e.label ? ` [label=${dotString(e.label)}]` : ''};`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

// --- layout --------------------------------------------------------------------------

export interface PlacedNode {
  node: GraphNode;
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Layout {
  nodes: PlacedNode[];
  width: number;
  height: number;
}

const CHAR_W = 6.6; // 11px sans-serif, average advance
const NODE_H = 34;
const H_GAP = 28;
const V_GAP = 58;
const PAD = 20;

export function layoutGraph(g: RefGraph): Layout {
  const ids = g.nodes.map((n) => n.id);
  const edges = g.edges.filter((e) => e.from !== e.to && ids.includes(e.from) && ids.includes(e.to));
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  const inn = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of acyclic(ids, edges)) {
    out.get(e.from)!.push(e.to);
    inn.get(e.to)!.push(e.from);
  }
  // Layer = longest path from a source, so every edge points down.
  const layer = new Map<string, number>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    layer.set(id, 0); // guards the recursion; the graph is acyclic by now
    const d = Math.max(0, ...inn.get(id)!.map((p) => depth(p) + 1));
    layer.set(id, d);
    return d;
  };
  for (const id of ids) depth(id);
  const layers: string[][] = [];
  for (const id of ids) (layers[layer.get(id)!] ??= []).push(id);

  // Barycenter sweeps: down using parents' positions, then up using children's.
  const pos = new Map<string, number>();
  const index = (): void => layers.forEach((l) => l.forEach((id, i) => pos.set(id, i)));
  index();
  const bary = (id: string, nbrs: Map<string, string[]>): number => {
    const ps = nbrs.get(id)!.map((n) => pos.get(n)!);
    return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : pos.get(id)!;
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.slice(1) : layers.slice(0, -1).reverse();
    for (const l of order) {
      const keys = new Map(l.map((id) => [id, bary(id, down ? inn : out)]));
      l.sort((a, b) => keys.get(a)! - keys.get(b)!);
      l.forEach((id, i) => pos.set(id, i));
    }
  }

  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const widthOf = (n: GraphNode): number => Math.max(80, Math.ceil(Math.max(clip(n.label).length, n.id.length) * CHAR_W) + 20);
  const rowWidths = layers.map((l) => l.reduce((s, id) => s + widthOf(byId.get(id)!), 0) + H_GAP * Math.max(0, l.length - 1));
  const width = Math.max(200, ...rowWidths) + 2 * PAD;
  const placed: PlacedNode[] = [];
  layers.forEach((l, li) => {
    let x = (width - rowWidths[li]!) / 2;
    for (const id of l) {
      const node = byId.get(id)!;
      const w = widthOf(node);
      placed.push({ node, layer: li, x, y: PAD + li * (NODE_H + V_GAP), width: w, height: NODE_H });
      x += w + H_GAP;
    }
  });
  const height = PAD * 2 + layers.length * NODE_H + Math.max(0, layers.length - 1) * V_GAP;
  return { nodes: placed, width, height };
}

/** The edges with those that close a cycle (found by depth-first search) turned around. */
function acyclic(ids: readonly string[], edges: readonly GraphEdge[]): { from: string; to: string }[] {
  const adj = new Map<string, GraphEdge[]>(ids.map((id) => [id, []]));
  for (const e of edges) adj.get(e.from)!.push(e);
  const state = new Map<string, 'open' | 'done'>();
  const out: { from: string; to: string }[] = [];
  const visit = (id: string): void => {
    state.set(id, 'open');
    for (const e of adj.get(id)!) {
      const s = state.get(e.to);
      if (s === 'open') out.push({ from: e.to, to: e.from });
      else {
        out.push({ from: e.from, to: e.to });
        if (s === undefined) visit(e.to);
      }
    }
    state.set(id, 'done');
  };
  const hasIn = new Set(edges.map((e) => e.to));
  for (const id of [...ids.filter((i) => !hasIn.has(i)), ...ids]) if (!state.has(id)) visit(id);
  return out;
}

// --- SVG -----------------------------------------------------------------------------

const f = (n: number): string => (Math.round(n * 10) / 10).toString();

export function renderSvg(g: RefGraph, memwhyVersion?: string): string {
  const layout = layoutGraph(g);
  const titleH = g.title ? 24 : 0;
  const W = layout.width;
  const H = layout.height + titleH;
  const at = new Map(layout.nodes.map((p) => [p.node.id, p]));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f(W)} ${f(H)}" width="${f(W)}" height="${f(H)}" ` +
      `font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXml(g.title ?? 'referrer graph')}">`,
    `<!-- ${escapeXml(generator(memwhyVersion))} -->`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
  ];
  if (g.title) parts.push(`<text x="${f(W / 2)}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(g.title)}</text>`);
  parts.push(`<g transform="translate(0 ${titleH})">`);
  for (const e of g.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b || a === b) continue;
    const down = b.y > a.y;
    const x1 = a.x + a.width / 2;
    const y1 = down ? a.y + a.height : a.y;
    const x2 = b.x + b.width / 2;
    const y2 = down ? b.y : b.y + b.height;
    const bend = Math.max(24, Math.abs(y2 - y1) / 2) * (down ? 1 : -1);
    parts.push(`<path d="M${f(x1)},${f(y1)} C${f(x1)},${f(y1 + bend)} ${f(x2)},${f(y2 - bend)} ${f(x2)},${f(y2)}" fill="none" stroke="#555" marker-end="url(#arrow)"/>`);
    if (e.label) {
      const label = clip(e.label, 32);
      const mx = (x1 + x2) / 2;
      const my = (y1 + y2) / 2;
      const w = label.length * CHAR_W * 0.95 + 8;
      parts.push(`<rect x="${f(mx - w / 2)}" y="${f(my - 8)}" width="${f(w)}" height="15" fill="#fff" opacity="0.85"/>`);
      parts.push(`<text x="${f(mx)}" y="${f(my + 3.5)}" text-anchor="middle" font-size="10" fill="#333">${escapeXml(label)}</text>`);
    }
  }
  for (const p of layout.nodes) {
    const n = p.node;
    const dash = n.kind === 'referrer' ? ' stroke-dasharray="4 3"' : '';
    parts.push(
      `<g><title>${escapeXml(`${n.label} (${n.type} at ${n.id})`)}</title>` +
        `<rect x="${f(p.x)}" y="${f(p.y)}" width="${f(p.width)}" height="${p.height}" rx="5" fill="${FILL[n.kind]}" stroke="${STROKE[n.kind]}"${dash}/>` +
        `<text x="${f(p.x + p.width / 2)}" y="${f(p.y + 14)}" text-anchor="middle">${escapeXml(clip(n.label))}</text>` +
        `<text x="${f(p.x + p.width / 2)}" y="${f(p.y + 27)}" text-anchor="middle" font-size="9" fill="#777">${escapeXml(n.id)}</text></g>`,
    );
  }
  parts.push('</g></svg>');
  return parts.join('\n') + '\n';
}
