/**
 * `memwhy analyze DUMP --html FILE`: the dominator-tree explorer as one
 * static page, built like diagnose's report (htmlPage.ts): the pruned
 * tree in a JSON block, the explorer bundled at package build time
 * (dist/heap-explorer.*) inlined beside it, and a CSP that forbids fetches.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HeapTree } from '../analyze/heapTree.js';
import { UserError } from '../errors.js';
import { selfContainedPage, type ViewerAssets } from './htmlPage.js';
import { DATA_ELEMENT_ID } from './html/shared.js';
import { formatBytes } from '../util/units.js';

export function renderHeapTreeHtml(tree: HeapTree, version: string, assets: ViewerAssets): string {
  const s = tree.summary;
  const title = `memwhy: heap of pid ${s.pid}, ${formatBytes(s.bytes)}${tree.diff ? ' (what grew)' : ''}`;
  return selfContainedPage({
    title,
    version,
    noscript: `This page draws the dominator tree with JavaScript; the data is in the page source, in the #${DATA_ELEMENT_ID} block.`,
    data: tree,
    assets,
  });
}

/** Reads the built explorer: beside dist/report/ when installed, the checkout's dist/ when run from src/ (tsx). */
export function loadExplorerAssets(): ViewerAssets {
  for (const dir of [new URL('../', import.meta.url), new URL('../../dist/', import.meta.url)]) {
    const js = fileURLToPath(new URL('heap-explorer.js', dir));
    const css = fileURLToPath(new URL('heap-explorer.css', dir));
    if (existsSync(js) && existsSync(css)) return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
  }
  throw new UserError('the heap explorer is not built: run npm run build in the memwhy checkout (it writes dist/heap-explorer.js)');
}
