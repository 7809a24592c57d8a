import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openFile, type OpenedPage } from '../helpers/browser.js';
import type { Diagnosis } from '../../src/analyze/diagnosis.js';
import { jsonForScript, loadViewerAssets, renderDiagnosisHtml, type ViewerAssets } from '../../src/report/diagnosisHtml.js';
// @ts-expect-error: a plain ES module without types; it returns { js, css }.
import { buildViewer } from '../../scripts/build-viewer.mjs';
import { tempDir } from '../helpers/tempDir.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const load = (name: string): Diagnosis => JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as Diagnosis;
const sample = load('diagnosis_sample.json');
const sparse = load('diagnosis_sparse.json');

/** Where the screenshot of the full report goes: one file, overwritten by each run, to look at. */
const SCREENSHOT = path.join(tmpdir(), 'memwhy-diagnosis-report.png');

let assets: ViewerAssets;
let browser: Browser;
let dir: string;

before(async () => {
  // Built from the sources in memory, so the test sees the viewer as it is now, whatever dist/ holds.
  assets = (await buildViewer({ write: false })) as ViewerAssets;
  dir = tempDir('memwhy-html-');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Opened = OpenedPage;

async function open(name: string, html: string): Promise<Opened> {
  const file = path.join(dir, name);
  writeFileSync(file, html);
  return openFile(browser, file);
}

async function box(page: Page, selector: string): Promise<{ width: number; height: number }> {
  const b = await page.locator(selector).first().boundingBox();
  assert.ok(b, `${selector} is laid out`);
  return b;
}

test('diagnosis page keeps the data in one JSON block with < escaped and names the pid and cause in its title', () => {
  const html = renderDiagnosisHtml(sample, assets);
  assert.match(html, /<title>memwhy: pid 48213, python-objects \(Python objects\)<\/title>/);
  const block = /<script type="application\/json" id="memwhy-data">([^]*?)<\/script>/.exec(html);
  assert.ok(block, 'the data block is there');
  assert.ok(!block[1]!.includes('<'), 'no < inside the data block');
  assert.deepEqual(JSON.parse(block[1]!), sample);
  // Everything is inline: no src= or href= that would fetch something.
  assert.doesNotMatch(html, /\s(src|href)=/);
});

test('JSON for a script element escapes <, > and & and the two JavaScript line separators', () => {
  const text = jsonForScript({ s: '</script><!-- & \u2028\u2029' });
  assert.equal(text, '{"s":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029"}');
  assert.deepEqual(JSON.parse(text), { s: '</script><!-- & \u2028\u2029' });
});

test('diagnosis report draws the verdict first, the timeline chart and the referrer graph, offline and without errors', { timeout: 60_000 }, async (t) => {
  const o = await open('sample.html', renderDiagnosisHtml(sample, assets));
  const { page } = o;
  try {
    // The verdict: first section, visible without scrolling, with its badge, evidence and other causes.
    const summary = page.locator('#verdict .summary');
    assert.ok(await summary.isVisible());
    assert.equal(await summary.textContent(), sample.verdict.summary);
    assert.equal(await page.locator('#verdict .badge').first().textContent(), 'Python objects');
    assert.equal(await page.locator('#verdict .evidence li').count(), sample.verdict.evidence.length);
    assert.match((await page.locator('#verdict .others').textContent()) ?? '', /Allocator retention/);
    const order = await page.evaluate(() => {
      const sections = [...document.querySelectorAll('main section')].map((s) => ({ id: s.id, top: s.getBoundingClientRect().top }));
      return { sections, viewport: window.innerHeight };
    });
    assert.equal(order.sections[0]!.id, 'verdict');
    assert.ok(order.sections.slice(1).every((s) => s.top > order.sections[0]!.top), 'the verdict is above every other section');
    assert.ok(order.sections[0]!.top < order.viewport / 4, 'the verdict is at the top of the first screen');
    assert.deepEqual(
      order.sections.map((s) => s.id),
      ['verdict', 'timeline', 'breakdown', 'suspects', 'sites', 'refs', 'recommendations', 'signals', 'gc', 'trim', 'notes'],
    );

    // The chart: uPlot's canvas, with its axes in units.
    const chart = await box(page, '#timeline-chart canvas');
    assert.ok(chart.width > 300 && chart.height > 100, `chart is ${chart.width}x${chart.height}`);
    // Its legend holds the values at the end of the window, in units, until the cursor moves.
    assert.match(await page.locator('#timeline-chart .u-legend').innerText(), /RSS\s*393\.5 MiB[^]*threads\s*8 threads/);

    // The graph: every node and edge drawn by the dagre layout.
    const graph = await box(page, '#refs-graph svg');
    assert.ok(graph.width > 100 && graph.height > 100, `graph is ${graph.width}x${graph.height}`);
    const g = sample.refs_graph!;
    assert.equal(await page.locator('#refs-graph g.node').count(), g.nodes.length);
    assert.equal(await page.locator('#refs-graph g.edges path').count(), g.edges.length);
    const nodeBoxes = await page.locator('#refs-graph g.node rect').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect()).map((b) => ({ x: b.x, y: b.y, w: b.width, h: b.height })));
    for (const a of nodeBoxes) {
      assert.ok(a.w > 0 && a.h > 0);
      for (const b of nodeBoxes) if (a !== b) assert.ok(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y, 'nodes do not overlap');
    }

    // Tables carry units and the data's rows.
    assert.equal(await page.locator('#breakdown tbody tr').count(), sample.breakdown.length);
    assert.equal(await page.locator('#suspects tbody tr').count(), sample.suspects.length);
    assert.equal(await page.locator('#sites tbody tr').count(), sample.allocation_sites!.length);
    const firstSuspect = (await page.locator('#suspects tbody tr').first().innerText()).replace(/\s+/g, ' ');
    assert.match(firstSuspect, /app\.Session \+48,210 obj \+2\.6 MiB .*\+160\.7 obj\/s \+8\.9 KiB\/s app\/session\.py:41 module app\.cache dict _SESSIONS\['9f1c02'\] app\.Session$/);
    assert.equal(await page.locator('#suspects tbody tr').first().locator('.path li').count(), 3);
    assert.equal(await page.locator('#recommendations pre code').count(), sample.recommendations.length);
    assert.match((await page.locator('#trim').innerText()) ?? '', /14\.1 MiB/);
    assert.match((await page.locator('#gc').innerText()) ?? '', /700 \/ 10 \/ 10/);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);

    assert.deepEqual(o.errors, []);
    assert.deepEqual(o.requests, [o.url], 'the page fetched nothing but itself');
  } finally {
    await page.close();
  }
});

test('diagnosis report without heap, gc, sites, trim and graph says not measured, and why from the notes', { timeout: 60_000 }, async () => {
  const o = await open('sparse.html', renderDiagnosisHtml(sparse, assets));
  const { page } = o;
  try {
    assert.equal(await page.locator('#verdict .summary').textContent(), sparse.verdict.summary);
    for (const id of ['suspects', 'sites', 'refs', 'gc', 'trim']) {
      const text = (await page.locator(`#${id} .not-measured`).innerText()).trim();
      assert.match(text, /^Not measured\./, `#${id} says not measured`);
    }
    assert.match(await page.locator('#refs .not-measured').innerText(), /ptrace/);
    assert.match(await page.locator('#trim .not-measured').innerText(), /malloc_trim was not tried/);
    assert.match(await page.locator('#breakdown').innerText(), /not measured/);
    assert.ok((await box(page, '#timeline-chart canvas')).width > 300, 'the RSS timeline is still drawn');
    assert.deepEqual(o.errors, []);
    assert.deepEqual(o.requests, [o.url]);
  } finally {
    await page.close();
  }
});

test('a type name that closes the script element is shown as text and runs nothing', { timeout: 60_000 }, async () => {
  const hostile = '</script><script>alert(1)</script>';
  const d: Diagnosis = structuredClone(sample);
  d.suspects[0]!.type = hostile;
  d.verdict.summary = `${hostile} <img src=x onerror=alert(2)> grows.`;
  d.refs_graph!.nodes[2]!.label = hostile;
  d.notes.push('\u2028line separator\u2029');
  const html = renderDiagnosisHtml(d, assets);
  assert.equal(html.match(/<\/script>/g)?.length, 2, 'only the two real script elements end');
  assert.ok(!html.includes('<img src=x'));

  const o = await open('hostile.html', html);
  const { page } = o;
  try {
    assert.equal(await page.locator('#suspects tbody tr td.type').first().textContent(), hostile);
    assert.equal(await page.locator('#verdict .summary').textContent(), d.verdict.summary);
    assert.equal(await page.locator('main img').count(), 0);
    assert.deepEqual(o.dialogs, []);
    assert.deepEqual(o.errors, []);
    assert.deepEqual(o.requests, [o.url]);
  } finally {
    await page.close();
  }
});

test('viewer assets load from the built dist files', () => {
  const built = loadViewerAssets();
  assert.match(built.js, /memwhy-data/);
  assert.match(built.css, /\.uplot/);
});
