import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openFile, type OpenedPage, type OpenOptions } from '../helpers/browser.js';
import type { Diagnosis } from '../../src/analyze/diagnosis.js';
import { loadViewerAssets, renderDiagnosisHtml } from '../../src/report/diagnosisHtml.js';
import { jsonForScript, type ViewerAssets } from '../../src/report/htmlPage.js';
// @ts-expect-error: a plain ES module without types; it returns { js, css }.
import { buildViewer } from '../../scripts/build-viewer.mjs';
import { tempDir } from '../helpers/tempDir.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const load = (name: string): Diagnosis => JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as Diagnosis;
const sample = load('diagnosis_sample.json');
const sparse = load('diagnosis_sparse.json');
/** A service's diagnosis as it really reads: venv and dist-packages paths, dotted type names, long referrer chains, 10 suspects, 25 sites. */
const realPaths = load('report_real_paths.json');
/** The sample with memwhy's own steps: 5 censuses, the first inside the target (it added 3.2 MiB), and a two-sentence verdict. */
const withSteps = load('report_steps.json');

/** Where the screenshot of the full report goes: one file, overwritten by each run, to look at. */
const SCREENSHOT = path.join(tmpdir(), 'memwhy-diagnosis-report.png');
const STEPS_SCREENSHOT = path.join(tmpdir(), 'memwhy-report-steps.png');

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

async function open(name: string, html: string, options?: OpenOptions): Promise<Opened> {
  const file = path.join(dir, name);
  writeFileSync(file, html);
  return openFile(browser, file, options);
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
    assert.ok(
      order.sections.slice(1).every((s) => s.top > order.sections[0]!.top),
      'the verdict is above every other section',
    );
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
    assert.match(firstSuspect, /app\.Session \+48,210 obj \+2\.6 MiB .*\+160\.7 obj\/s \+8\.9 KiB\/s app\/session\.py:41 module app\.cache → dict _SESSIONS\['9f1c02'\] → app\.Session$/);
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

test("the timeline shades each of memwhy's steps, stronger where it ran inside the target, and says what its in-target steps added", { timeout: 60_000 }, async (t) => {
  const o = await open('steps.html', renderDiagnosisHtml(withSteps, assets));
  const { page } = o;
  try {
    const steps = withSteps.rss.steps!;
    const bands = page.locator('#timeline-chart .u-under .step-band');
    assert.equal(await bands.count(), steps.length);
    assert.equal(await page.locator('#timeline-chart .step-band.in-target').count(), 1);
    const drawn = await bands.evaluateAll((els) =>
      els.map((el) => {
        const b = el.getBoundingClientRect();
        const plot = el.parentElement!.getBoundingClientRect();
        return {
          label: el.getAttribute('data-label'),
          inTarget: el.getAttribute('data-in-target'),
          title: el.getAttribute('title'),
          x: b.x - plot.x,
          w: b.width,
          h: b.height,
          plotH: plot.height,
          plotW: plot.width,
        };
      }),
    );
    assert.deepEqual(
      drawn.map((b) => b.label),
      [1, 2, 3, 4, 5].map((n) => `memwhy: census (${n} of 5), ${n === 1 ? 'inside the target' : 'in a forked child'}`),
    );
    assert.deepEqual(
      drawn.map((b) => b.inTarget),
      ['true', 'false', 'false', 'false', 'false'],
    );
    assert.match(drawn[1]!.title!, /^memwhy: census \(2 of 5\), in a forked child, at 75\.0 s for 600 ms$/);
    for (const [i, b] of drawn.entries()) {
      assert.ok(b.w >= 4 && b.h === b.plotH, `band ${i + 1} is ${b.w}x${b.h}, a visible strip the plot's height`);
      // Where its time is: 0..300 s across the plot.
      const at = (steps[i]!.start_s / 300) * b.plotW;
      assert.ok(Math.abs(b.x - at) < 4, `band ${i + 1} starts at ${b.x.toFixed(1)} px, its time is at ${at.toFixed(1)} px`);
    }
    // The bands are under the series: the canvas covers them.
    assert.equal(await page.locator('#timeline-chart .u-over .step-band').count(), 0);

    // The key names both kinds; hovering a band names that step.
    const key = page.locator('#timeline .steps-key');
    assert.match(await key.innerText(), /in a forked child[^]*\(4\)[^]*inside the target[^]*\(1\)/);
    const hover = page.locator('#timeline .steps-key .step-hover');
    assert.equal(await hover.textContent(), '');
    const band = await bands.nth(2).boundingBox();
    assert.ok(band);
    await page.mouse.move(band.x + band.width / 2, band.y + band.height / 2);
    await page.waitForFunction(() => document.querySelector('.step-hover')?.textContent !== '');
    assert.equal(await hover.textContent(), 'memwhy: census (3 of 5), in a forked child');
    assert.equal(await page.locator('#timeline-chart .step-band.active').count(), 1);

    assert.equal((await page.locator('#timeline .steps-note').innerText()).trim(), "memwhy's own steps added 3.2 MiB inside the target; taken out of the fitted slope");

    // The two-sentence verdict: the second cause on its own line, the summary's text unchanged.
    const summary = page.locator('#verdict .summary');
    assert.equal(await summary.textContent(), withSteps.verdict.summary);
    const lines = await summary.evaluate((el) => {
      const main = el.querySelector('.main')!.getBoundingClientRect();
      const also = el.querySelector('.also')!.getBoundingClientRect();
      return { mainBottom: main.bottom, alsoTop: also.top, alsoText: el.querySelector('.also')!.textContent };
    });
    assert.ok(lines.alsoTop >= lines.mainBottom - 1, 'the second sentence starts below the first');
    assert.match(lines.alsoText!, /^Thread leak also grows: /);

    // The verdict and the timeline, the part this shows: hovering the third band, so its label is on screen.
    const end = await box(page, '#timeline');
    const top = await page.locator('#timeline').evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
    await page.screenshot({ path: STEPS_SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(top + end.height + 16) }, fullPage: true });
    t.diagnostic(`screenshot: ${STEPS_SCREENSHOT}`);
    assert.deepEqual(o.errors, []);
    assert.deepEqual(o.requests, [o.url]);
  } finally {
    await page.close();
  }
});

test('a report from before steps were recorded draws no bands, no key and no note', { timeout: 60_000 }, async () => {
  assert.equal(sample.rss.steps, undefined, 'the sample is an old document');
  const none: Diagnosis = structuredClone(withSteps);
  none.rss.steps = [];
  none.rss.memwhy_steps_bytes = 0;
  for (const [name, d] of [
    ['old', sample],
    ['no-steps', none],
  ] as const) {
    const o = await open(`${name}.html`, renderDiagnosisHtml(d, assets));
    const { page } = o;
    try {
      assert.ok((await box(page, '#timeline-chart canvas')).width > 300, `${name}: the chart is drawn`);
      assert.equal(await page.locator('.step-band').count(), 0, `${name}: no bands`);
      assert.equal(await page.locator('.steps-key').count(), 0, `${name}: no key`);
      assert.equal(await page.locator('.steps-note').count(), 0, `${name}: no note`);
      assert.deepEqual(o.errors, []);
    } finally {
      await page.close();
    }
  }
});

test("a growing type's holder says what it retains in the heap dump taken at the end; without a dump, nothing is said", { timeout: 60_000 }, async () => {
  const dumped: Diagnosis = structuredClone(sample);
  dumped.suspects[0]!.holder = { label: "dict _SESSIONS['9f1c02']", bytes: 37 * 1024 * 1024, objects: 412_345, share: 0.41 };
  dumped.heap_dump = { file: '/tmp/app.mwd', objects: 1_000_000, bytes: 90 * 1024 * 1024 };
  for (const [name, d, expected] of [
    ['dumped', dumped, ["dict _SESSIONS['9f1c02'] retains 37.0 MiB in 412,345 objects, 41% of the heap dump"]],
    ['not-dumped', sample, []],
  ] as const) {
    const o = await open(`${name}.html`, renderDiagnosisHtml(d, assets));
    const { page } = o;
    try {
      const lines = await page.locator('#suspects .retained').allInnerTexts();
      assert.deepEqual(
        lines.map((l) => l.replace(/\s+/g, ' ').trim()),
        expected,
        name,
      );
      assert.deepEqual(o.errors, []);
    } finally {
      await page.close();
    }
  }
});

test('a long two-sentence verdict wraps inside its card at phone width, breaking at spaces and dotted names', { timeout: 60_000 }, async () => {
  const d: Diagnosis = structuredClone(withSteps);
  d.verdict.summary =
    'Live Python objects grew by 12.3 MiB in 300 s, climbing in every census (41.0 KiB/s, 144.1 MiB/h); most of it sqlalchemy.orm.state.InstanceState (+48,210 objects, +2.6 MiB, +161 instances/s). ' +
    'Thread leak also grows: threads went from 8 to 40 and never fell: each new thread costs a stack and its own allocator arena.';
  const o = await open('verdict-narrow.html', renderDiagnosisHtml(d, assets), { width: 375 });
  const { page } = o;
  try {
    const summary = page.locator('#verdict .summary');
    assert.equal(await summary.textContent(), d.verdict.summary);
    const fit = await page.evaluate(() => {
      const card = document.getElementById('verdict')!.getBoundingClientRect();
      const p = document.querySelector('#verdict .summary')!;
      return { card: card.right, p: p.getBoundingClientRect().right, scroll: document.documentElement.scrollWidth, view: window.innerWidth };
    });
    assert.ok(fit.p <= fit.card + 0.5, `the summary (right edge ${fit.p}) stays in its card (${fit.card})`);
    assert.ok(fit.scroll <= fit.view, 'the page does not scroll sideways');
    // Every line ends at a space or a dotted name's dot, never inside a word or a number.
    const ends = await summary.evaluate((el) => {
      const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      const chars: { c: string; top: number }[] = [];
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        for (let i = 0; i < n.textContent!.length; i++) {
          const r = document.createRange();
          r.setStart(n, i);
          r.setEnd(n, i + 1);
          const rects = r.getClientRects();
          if (rects.length) chars.push({ c: n.textContent![i]!, top: rects[0]!.top });
        }
      }
      const out: string[] = [];
      for (let i = 1; i < chars.length; i++) if (chars[i]!.top > chars[i - 1]!.top + 2) out.push(`${chars[i - 1]!.c}|${chars[i]!.c}`);
      return out;
    });
    assert.ok(ends.length >= 4, `the summary wraps (${ends.length + 1} lines)`);
    for (const e of ends) assert.match(e, /^(\s\|.|.\|\s|\.\|[A-Za-z_])$/, `a line breaks at "${e}"`);
    assert.deepEqual(o.errors, []);
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

// --- real paths: long, deep, from site-packages -----------------------------------------------

/** What is on screen in an element: the elided heads left out, the `…/` that CSS draws put in. */
function visibleText(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).evaluateAll((els) =>
    els.map((el) => {
      const copy = el.cloneNode(true) as Element;
      copy.querySelectorAll('.elided').forEach((e) => e.remove());
      copy.querySelectorAll('.elision').forEach((e) => e.replaceWith(e.getAttribute('data-marker') ?? ''));
      return copy.textContent ?? '';
    }),
  );
}

test('a report of real paths keeps its data whole in the JSON block, with the < of <frozen ...> and <class ...> escaped', () => {
  const html = renderDiagnosisHtml(realPaths, assets);
  const block = /<script type="application\/json" id="memwhy-data">([^]*?)<\/script>/.exec(html);
  assert.ok(block, 'the data block is there');
  assert.ok(!block[1]!.includes('<'), 'no < inside the data block');
  assert.deepEqual(JSON.parse(block[1]!), realPaths);
  assert.doesNotMatch(html, /\s(src|href)=/);
});

for (const width of [1280, 1920]) {
  test(`a report with real long paths fits every card at ${width} px, with rows no taller than their content`, { timeout: 60_000 }, async (t) => {
    const o = await open(`real-${width}.html`, renderDiagnosisHtml(realPaths, assets), { width });
    const { page } = o;
    try {
      assert.equal(await page.locator('#suspects tbody tr').count(), 10);
      assert.equal(await page.locator('#sites tbody tr').count(), 25);

      // tsx compiles the function below with esbuild's keepNames, whose __name helper is not in the page.
      await page.evaluate('globalThis.__name = (f) => f');
      const layout = await page.evaluate(() => {
        const describe = (el: Element): string =>
          `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.trim().replace(/\s+/g, '.')}` : ''} "${(el.textContent ?? '').trim().slice(0, 50)}"`;
        const overflows: string[] = [];
        const scrolls: string[] = [];
        for (const card of document.querySelectorAll('main section')) {
          const c = card.getBoundingClientRect();
          if (card.scrollWidth > card.clientWidth) scrolls.push(`#${card.id} scrolls: ${card.scrollWidth} > ${card.clientWidth}`);
          for (const el of card.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue; // not rendered (a closed <details>) or an elided path head
            if (r.right > c.right + 0.5 || r.left < c.left - 0.5)
              overflows.push(`#${card.id} ${describe(el)}: ${r.left.toFixed(1)}..${r.right.toFixed(1)} outside ${c.left.toFixed(1)}..${c.right.toFixed(1)}`);
          }
        }
        for (const el of document.querySelectorAll('main table, main .table-wrap')) {
          if (el.scrollWidth > el.clientWidth) scrolls.push(`${describe(el)} scrolls: ${el.scrollWidth} > ${el.clientWidth}`);
        }
        // Rows: how tall each is, how tall its tallest cell's content is (with the cell's padding), and whether it holds a referrer chain that wrapped.
        const rows = [...document.querySelectorAll('main .table-wrap tbody tr')].map((tr) => {
          const cells = [...tr.querySelectorAll(':scope > td')];
          const style = getComputedStyle(cells[0]!);
          const line = parseFloat(style.lineHeight);
          // A range's box is the glyphs' (font size), not the line's: the leading is allowed on top of it.
          const leading = line - parseFloat(style.fontSize);
          let content = 0;
          for (const td of cells) {
            const range = document.createRange();
            range.selectNodeContents(td);
            const pad = parseFloat(getComputedStyle(td).paddingTop) + parseFloat(getComputedStyle(td).paddingBottom);
            content = Math.max(content, range.getBoundingClientRect().height + pad);
          }
          const chain = tr.querySelector('.path');
          return {
            where: `${tr.closest('section')!.id} row ${[...tr.parentElement!.children].indexOf(tr) + 1}`,
            height: tr.getBoundingClientRect().height,
            line,
            content: content + leading,
            wrappedChain: chain ? chain.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(chain).lineHeight) : false,
          };
        });
        return { overflows, scrolls, rows };
      });
      assert.deepEqual(layout.overflows, [], 'nothing inside a card reaches past its edges');
      assert.deepEqual(layout.scrolls, [], 'no card or table scrolls sideways');
      for (const r of layout.rows) {
        assert.ok(r.height <= r.content + 3, `${r.where} is ${r.height.toFixed(1)} px tall for ${r.content.toFixed(1)} px of content: no empty space`);
        if (!r.wrappedChain) assert.ok(r.height <= 4 * r.line, `${r.where} is ${r.height.toFixed(1)} px tall, over 4 lines of ${r.line} px, without a referrer chain to wrap`);
      }

      const shot = path.join(tmpdir(), `memwhy-report-${width}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);
      assert.deepEqual(o.errors, []);
      assert.deepEqual(o.requests, [o.url], 'the page fetched nothing but itself');
    } finally {
      await page.close();
    }
  });
}

test('a shortened path shows its tail and keeps the whole path in its title and its text', { timeout: 60_000 }, async () => {
  const o = await open('real-titles.html', renderDiagnosisHtml(realPaths, assets));
  const { page } = o;
  try {
    // What the Allocated-at column shows for a venv package, a dist-packages package, the stdlib and the checkout.
    assert.deepEqual((await visibleText(page, '#suspects td.site code')).slice(0, 6), [
      'sqlalchemy/orm/state.py:212',
      'sqlalchemy/orm/session.py:2561',
      'werkzeug/routing/matcher.py:77',
      '…/billing/models/invoice.py:143',
      'json/decoder.py:353',
      '…/billing/metrics/collectors.py:19',
    ]);
    // Every site cell, in both tables: whole in the DOM, and whole in the title where shortened.
    const cells = await page
      .locator('#suspects td.site code, #sites td.site summary code, #sites td.site > code')
      .evaluateAll((els) => els.map((el) => ({ text: el.textContent, title: el.getAttribute('title'), short: el.classList.contains('short') })));
    const sites = [...realPaths.suspects.flatMap((x) => (x.site ? [x.site] : [])), ...realPaths.allocation_sites!.map((a) => a.site)];
    assert.deepEqual(
      cells.map((c) => c.text),
      sites,
    );
    for (const c of cells) {
      if (c.short) assert.equal(c.title, c.text, `${c.text} is in its title`);
      else assert.ok(c.text!.length <= 40 && !c.text!.includes('-packages/'), `${c.text} is shown whole`);
    }
    assert.ok(cells.filter((c) => c.short).length >= 30, 'most sites of a real service are shortened');
    // Anything shortened anywhere in the page (labels, notes, evidence too): its title is its whole text, and its cut head takes no room.
    const shorts = await page
      .locator('.short')
      .evaluateAll((els) =>
        els.map((el) => ({ text: el.textContent, title: el.getAttribute('title'), hidden: [...el.querySelectorAll('.elided')].every((e) => e.getBoundingClientRect().width === 0) })),
      );
    assert.ok(shorts.length > cells.filter((c) => c.short).length, 'paths inside labels and sentences are shortened too');
    for (const s of shorts) {
      assert.equal(s.title, s.text);
      assert.ok(s.hidden, `the head of ${s.text} is hidden`);
    }
    assert.match((await visibleText(page, '#notes li'))[1]!, /a virtualenv at …\/2026-12-01\/app\/venv;/);
    // A referrer label with a path: the frame's file is shortened inside the chip.
    assert.deepEqual(await visibleText(page, '#suspects tbody tr:nth-child(9) .path li:first-child code'), ['frame run_forever (asyncio/base_events.py:607)']);
    assert.deepEqual(o.errors, []);
  } finally {
    await page.close();
  }
});

test('copying a shortened path gives the whole path, even when only its visible tail was selected', { timeout: 60_000 }, async () => {
  const o = await open('real-copy.html', renderDiagnosisHtml(realPaths, assets), { clipboard: true });
  const { page } = o;
  const copied = async (): Promise<string> => {
    await page.keyboard.press('Control+C');
    return page.evaluate(() => navigator.clipboard.readText());
  };
  try {
    const site = realPaths.suspects[2]!.site!;
    const cell = '#suspects tbody tr:nth-child(3) td.site code';
    // The whole cell, as a triple click or a drag across it selects it.
    await page.locator(cell).evaluate((el) => {
      const r = document.createRange();
      r.selectNodeContents(el);
      getSelection()!.removeAllRanges();
      getSelection()!.addRange(r);
    });
    assert.equal(await copied(), site);
    // Only the text on screen: from the first visible character to the last.
    await page.locator(cell).evaluate((el) => {
      const texts: Text[] = [];
      const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) if (!n.parentElement!.closest('.elided')) texts.push(n as Text);
      const r = document.createRange();
      r.setStart(texts[0]!, 0);
      r.setEnd(texts[texts.length - 1]!, texts[texts.length - 1]!.length);
      getSelection()!.removeAllRanges();
      getSelection()!.addRange(r);
    });
    assert.equal(await copied(), site);
    // A referrer chain copies as one line, arrows included.
    await page.locator('#suspects tbody tr:nth-child(3) .path').evaluate((el) => {
      const r = document.createRange();
      r.selectNodeContents(el);
      getSelection()!.removeAllRanges();
      getSelection()!.addRange(r);
    });
    assert.equal((await copied()).replace(/\u00a0/g, ' '), realPaths.suspects[2]!.path!.join(' → '));
    assert.deepEqual(o.errors, []);
  } finally {
    await page.close();
  }
});
