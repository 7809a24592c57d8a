/**
 * `memwhy analyze DUMP --html FILE`: the dominator-tree explorer as one
 * static page, built like diagnose's report (htmlPage.ts): the pruned
 * tree in a JSON block, the explorer bundled at package build time
 * (dist/heap-explorer.*) inlined beside it, and a CSP that forbids fetches.
 */
import type { HeapTree } from '../analyze/heapTree.js';
import { UserError } from '../errors.js';
import { readPackageFile } from '../installation.js';
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

/** Reads the built explorer (dist/heap-explorer.*, from the package or the single executable). */
export function loadExplorerAssets(): ViewerAssets {
  const js = readPackageFile('dist/heap-explorer.js');
  const css = readPackageFile('dist/heap-explorer.css');
  if (js !== undefined && css !== undefined) return { js, css };
  throw new UserError('the heap explorer is not built: run npm run build in the memwhy checkout (it writes dist/heap-explorer.js)');
}
