/**
 * The referrer graph section: who holds the growing objects, laid out by
 * dagre and drawn as SVG, roots at the top.
 */
import dagre from '@dagrejs/dagre';
import type { Diagnosis } from '../../analyze/diagnosis.js';
import type { GraphNode } from '../../collect/refs.js';
import { h, s } from './dom.js';
import { notMeasured, section, type Mount } from './layout.js';
import { shortenPathsIn, shownText } from './paths.js';
import { colour, DRAWING_FONT, type ThemeColour } from './theme.js';

/** A node's kind, as the referrer probe (collect/refs.ts) names it. */
type NodeKind = GraphNode['kind'];

interface KindStyle {
  fill: ThemeColour;
  stroke: ThemeColour;
  /** The legend's words for it. */
  name: string;
}

/** Okabe-Ito fills and strokes per node kind (the colours are theme.css's), as in src/report/refsGraph.ts. */
const KIND_STYLE: Record<NodeKind, KindStyle> = {
  module: { fill: 'node-root-fill', stroke: 'cool', name: 'root: module' },
  class: { fill: 'node-root-fill', stroke: 'cool', name: 'root: class' },
  frame: { fill: 'node-root-fill', stroke: 'cool', name: 'root: frame' },
  garbage: { fill: 'node-garbage-fill', stroke: 'warm', name: 'gc.garbage' },
  object: { fill: 'node-object-fill', stroke: 'node-object-line', name: 'object on the path' },
  target: { fill: 'node-target-fill', stroke: 'node-target-line', name: 'growing type' },
  referrer: { fill: 'card', stroke: 'node-referrer-line', name: 'other referrer' },
};

/** A saved report names its kinds as strings: one memwhy does not know is drawn as an object on the path. */
function isNodeKind(kind: string): kind is NodeKind {
  return Object.prototype.hasOwnProperty.call(KIND_STYLE, kind);
}

function kindStyle(kind: string): { fill: string; stroke: string; name: string } {
  const st = KIND_STYLE[isNodeKind(kind) ? kind : 'object'];
  return { fill: colour(st.fill), stroke: colour(st.stroke), name: st.name };
}

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

interface NodeBox {
  width: number;
  height: number;
  x?: number;
  y?: number;
}
interface EdgeBox {
  width?: number;
  height?: number;
  labelpos?: 'l' | 'c' | 'r';
  points?: { x: number; y: number }[];
  x?: number;
  y?: number;
}

export function refsGraph(d: Diagnosis, mount: Mount): HTMLElement {
  const title = 'Who holds the growing objects';
  const g = d.refs_graph;
  if (!g) return section('refs', title, notMeasured(d, /referr|refs|graph/i));
  if (!g.nodes.length) return section('refs', title, h('p', { class: 'muted' }, 'No referrer chain was found.'));
  const kinds = [...new Set(g.nodes.map((n) => n.kind))];
  const legend = h(
    'ul',
    { class: 'legend' },
    ...kinds.map((k) => {
      const sw = h('span', { class: `swatch kind-${k}` });
      const st = kindStyle(k);
      sw.style.background = st.fill;
      sw.style.borderColor = st.stroke;
      return h('li', null, sw, st.name);
    }),
  );
  const box = h('div', { class: 'graph', id: 'refs-graph' });
  mount(() => drawGraph(box, g));
  return section('refs', title, h('p', { class: 'lede' }, 'Arrows point from an object to what it refers to; the roots are at the top.'), legend, box);
}

function drawGraph(el: HTMLElement, graph: NonNullable<Diagnosis['refs_graph']>): void {
  const ctx = document.createElement('canvas').getContext('2d');
  const measure = (text: string, px: number, weight = 400): number => {
    if (!ctx) return text.length * px * 0.6;
    ctx.font = `${weight} ${px}px ${DRAWING_FONT}`;
    return ctx.measureText(text).width;
  };
  const g = new dagre.graphlib.Graph<object, NodeBox, EdgeBox>({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 54, edgesep: 14, marginx: 14, marginy: 14 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(graph.nodes.map((n) => n.id));
  const text = new Map<string, { title: string; sub: string }>();
  for (const n of graph.nodes) {
    // Paths shortened before clipping, so what is left is the informative tail; the node's <title> has them whole.
    const t = { title: clip(shownText(shortenPathsIn(n.label)), 44), sub: clip(n.type === n.label ? n.id : `${n.type} · ${n.id}`, 52) };
    text.set(n.id, t);
    g.setNode(n.id, { width: Math.max(96, Math.max(measure(t.title, 12.5, 600), measure(t.sub, 10.5)) + 26), height: 42 });
  }
  const edgeText = new Map<string, string>();
  graph.edges.forEach((e, i) => {
    if (!ids.has(e.from) || !ids.has(e.to)) return;
    const label = clip(e.label, 30);
    edgeText.set(`e${i}`, label);
    g.setEdge(e.from, e.to, { width: label ? measure(label, 11) + 10 : 0, height: label ? 16 : 0, labelpos: 'c' }, `e${i}`);
  });
  dagre.layout(g);
  const W = Math.ceil(Number(g.graph().width ?? 200));
  const H = Math.ceil(Number(g.graph().height ?? 100));

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'referrer graph', 'font-family': DRAWING_FONT });
  svg.append(
    s(
      'defs',
      {},
      s(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', fill: colour('slate') }),
      ),
    ),
  );
  const edges = s('g', { class: 'edges' });
  const labels = s('g', { class: 'edge-labels' });
  for (const e of g.edges()) {
    const lab = g.edge(e);
    const pts = lab.points ?? [];
    if (pts.length < 2) continue;
    // Through dagre's control points with quadratic segments: smooth, and still ending on the node border.
    let dPath = `M${pts[0]!.x},${pts[0]!.y}`;
    for (let i = 1; i < pts.length - 1; i++) {
      const p = pts[i]!;
      const q = pts[i + 1]!;
      const end = i === pts.length - 2 ? q : { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 };
      dPath += ` Q${p.x},${p.y} ${end.x},${end.y}`;
    }
    if (pts.length === 2) dPath += ` L${pts[1]!.x},${pts[1]!.y}`;
    edges.append(s('path', { d: dPath, fill: 'none', stroke: colour('faint'), 'stroke-width': 1.3, 'marker-end': 'url(#arrow)' }));
    const label = edgeText.get(e.name ?? '');
    if (label && lab.x !== undefined && lab.y !== undefined) {
      const w = measure(label, 11) + 8;
      labels.append(
        s(
          'g',
          { transform: `translate(${lab.x} ${lab.y})` },
          s('rect', { x: -w / 2, y: -8, width: w, height: 16, rx: 3, fill: colour('card'), stroke: colour('line') }),
          s('text', { 'text-anchor': 'middle', y: 4, 'font-size': 11, fill: colour('edge-label'), 'font-family': 'ui-monospace, "DejaVu Sans Mono", monospace' }, label),
        ),
      );
    }
  }
  const nodes = s('g', { class: 'nodes' });
  for (const n of graph.nodes) {
    const box = g.node(n.id);
    if (!box || box.x === undefined || box.y === undefined) continue;
    const st = kindStyle(n.kind);
    const t = text.get(n.id)!;
    nodes.append(
      s(
        'g',
        { class: `node kind-${n.kind}`, transform: `translate(${box.x - box.width / 2} ${box.y - box.height / 2})` },
        s('title', {}, `${n.label}\n${n.type} at ${n.id} (${n.kind})`),
        s('rect', {
          width: box.width,
          height: box.height,
          rx: 7,
          fill: st.fill,
          stroke: st.stroke,
          'stroke-width': n.kind === 'target' ? 2 : 1.2,
          ...(n.kind === 'referrer' ? { 'stroke-dasharray': '4 3' } : {}),
        }),
        s('text', { x: box.width / 2, y: 18, 'text-anchor': 'middle', 'font-size': 12.5, 'font-weight': 600, fill: colour('fg') }, t.title),
        s('text', { x: box.width / 2, y: 33, 'text-anchor': 'middle', 'font-size': 10.5, fill: colour('muted') }, t.sub),
      ),
    );
  }
  svg.append(edges, labels, nodes);
  // Shrink a wide graph to the column, but not below 60%: past that, scroll.
  svg.style.minWidth = `${Math.min(W, Math.round(W * 0.6))}px`;
  el.append(svg);
}
