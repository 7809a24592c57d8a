import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutGraph, renderDot, renderSvg } from '../../src/report/refsGraph.js';
import type { GraphEdge, GraphNode } from '../../src/collect/refs.js';

const nodes: GraphNode[] = [
  { id: '0x1', label: 'module app.cache', kind: 'module', type: 'dict' },
  { id: '0x2', label: 'dict _SESSIONS', kind: 'object', type: 'dict' },
  { id: '0x3', label: 'app.Session', kind: 'target', type: 'app.Session' },
  { id: '0x4', label: 'app.Session', kind: 'target', type: 'app.Session' },
  { id: '0x5', label: 'list', kind: 'referrer', type: 'list' },
];
const edges: GraphEdge[] = [
  { from: '0x1', to: '0x2', label: '_SESSIONS' },
  { from: '0x2', to: '0x3', label: "['9f1c']" },
  { from: '0x2', to: '0x4', label: "['a0b2']" },
  { from: '0x5', to: '0x3', label: '[0]' },
];

test('referrer graph layout puts each node below every node that refers to it', () => {
  const l = layoutGraph({ nodes, edges });
  const at = new Map(l.nodes.map((p) => [p.node.id, p]));
  for (const e of edges) assert.ok(at.get(e.from)!.y < at.get(e.to)!.y, `${e.from} above ${e.to}`);
  // No two nodes overlap, and all fit in the drawing.
  for (const a of l.nodes) {
    assert.ok(a.x >= 0 && a.x + a.width <= l.width && a.y + a.height <= l.height);
    for (const b of l.nodes) {
      if (a === b || a.layer !== b.layer) continue;
      assert.ok(a.x + a.width <= b.x || b.x + b.width <= a.x, `${a.node.id} overlaps ${b.node.id}`);
    }
  }
});

test('referrer graph layout survives a cycle', () => {
  const l = layoutGraph({
    nodes: nodes.slice(0, 2),
    edges: [
      { from: '0x1', to: '0x2', label: '' },
      { from: '0x2', to: '0x1', label: '' },
    ],
  });
  assert.equal(l.nodes.length, 2);
  assert.notEqual(l.nodes[0]!.y, l.nodes[1]!.y);
});

test('referrer graph as SVG is one well-formed drawing with every node and edge label escaped', () => {
  const svg = renderSvg({ nodes, edges, title: 'who holds <app.Session>' });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal((svg.match(/<rect x=[^>]*rx="5"/g) ?? []).length, nodes.length);
  assert.equal((svg.match(/marker-end/g) ?? []).length, edges.length);
  assert.ok(svg.includes('who holds &lt;app.Session&gt;'));
  assert.ok(svg.includes("['9f1c']") && svg.includes('module app.cache'));
  assert.ok(!/<[^>]*<\//.test(svg.replace(/<\/?[a-z]+[^<>]*>/g, '')), 'no stray angle brackets in text');
});

test('referrer graph as DOT quotes labels and names every edge', () => {
  const dot = renderDot({ nodes: [...nodes, { id: '0x6', label: 'dict ["a\\"b"]', kind: 'object', type: 'dict' }], edges });
  assert.match(dot, /^digraph refs \{/);
  assert.ok(dot.includes('"0x1" -> "0x2" [label="_SESSIONS"];'));
  assert.ok(dot.includes(`"0x2" -> "0x3" [label="['9f1c']"];`));
  assert.ok(dot.includes('label="dict [\\"a\\\\\\"b\\"]\\n0x6"'));
  assert.ok(dot.includes('style="rounded,filled,dashed"'), 'other referrers drawn dashed');
});
