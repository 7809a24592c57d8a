/**
 * The viewer of `memwhy diagnose`'s HTML report: a browser script, bundled
 * with its libraries at package build time (scripts/build-viewer.mjs) and
 * inlined into the page by src/report/diagnosisHtml.ts. It reads the
 * Diagnosis from the page's JSON block and draws it, verdict first.
 *
 * Every string from the data goes in through textContent (never innerHTML):
 * type names, labels and paths come from the target process.
 *
 * Long paths are shortened on screen (src/report/html/paths.ts) but kept
 * whole in the page: the cut-off prefix stays in the DOM at zero size, so a
 * select-and-copy gives the full path, and the full path is the element's
 * title. A copy whose selection ends inside a shortened path is widened to the
 * whole path (widenCopyToWholePaths), so dragging over the visible part is enough.
 *
 * This file is the entry; what it draws is in sections.ts (cards and
 * tables), timeline.ts (the RSS chart) and graph.ts (the referrer graph),
 * built from layout.ts's blocks, format.ts's numbers and text.ts's paths;
 * the colours are theme.css's.
 */
import type { Diagnosis } from '../../analyze/diagnosis.js';
import { h } from './dom.js';
import { refsGraph } from './graph.js';
import type { Mount } from './layout.js';
import { breakdown, collector, header, notes, recommendations, signals, sites, suspects, trim, verdict } from './sections.js';
import { DATA_ELEMENT_ID, ROOT_ELEMENT_ID } from './shared.js';
import { widenCopyToWholePaths } from './text.js';
import { timeline } from './timeline.js';

function render(d: Diagnosis, root: HTMLElement): void {
  const later: (() => void)[] = [];
  const mount: Mount = (fn) => void later.push(fn);
  const main = h(
    'main',
    null,
    verdict(d),
    timeline(d, mount),
    breakdown(d),
    suspects(d),
    sites(d),
    refsGraph(d, mount),
    recommendations(d),
    signals(d),
    h('div', { class: 'pair' }, collector(d), trim(d)),
    notes(d),
  );
  root.replaceChildren(header(d), main, h('footer', null, `memwhy ${d.memwhy_version}. A self-contained page: it loads nothing from the network.`));
  // Charts measure their container, so they are drawn once it is in the page.
  for (const fn of later) fn();
}

function start(): void {
  widenCopyToWholePaths();
  const root = document.getElementById(ROOT_ELEMENT_ID) ?? document.body;
  const block = document.getElementById(DATA_ELEMENT_ID);
  try {
    if (!block?.textContent) throw new Error(`no #${DATA_ELEMENT_ID} data block in the page`);
    render(JSON.parse(block.textContent) as Diagnosis, root);
  } catch (err) {
    root.replaceChildren(h('p', { class: 'fatal' }, `memwhy could not draw this report: ${String(err)}. The data is in the page source, in the #${DATA_ELEMENT_ID} block.`));
    throw err;
  }
}

start();
