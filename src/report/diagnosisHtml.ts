/**
 * `memwhy diagnose --html`: one static page that needs nothing else (the
 * shell in htmlPage.ts): the Diagnosis, and the viewer built at package
 * build time by scripts/build-viewer.mjs from src/report/html/.
 */
import type { Diagnosis } from '../analyze/diagnosis.js';
import { UserError } from '../errors.js';
import { readPackageFile } from '../installation.js';
import { CAUSE_LABEL, DATA_ELEMENT_ID } from './html/shared.js';
import { escapeHtml, selfContainedPage, type ViewerAssets } from './htmlPage.js';

export function renderDiagnosisHtml(d: Diagnosis, assets: ViewerAssets): string {
  const cause = d.verdict.cause;
  const title = `memwhy: pid ${d.pid}, ${cause} (${CAUSE_LABEL[cause] ?? cause})`;
  return selfContainedPage({
    title,
    version: d.memwhy_version,
    noscript: `<strong>${escapeHtml(CAUSE_LABEL[cause] ?? cause)}.</strong> ${escapeHtml(d.verdict.summary)}<br>
This report draws its charts with JavaScript; the full diagnosis is in the page source, in the #${DATA_ELEMENT_ID} block.`,
    data: d,
    assets,
  });
}

/** Reads the built viewer (dist/report-viewer.*, from the package or the single executable). */
export function loadViewerAssets(): ViewerAssets {
  const js = readPackageFile('dist/report-viewer.js');
  const css = readPackageFile('dist/report-viewer.css');
  if (js !== undefined && css !== undefined) return { js, css };
  throw new UserError('the HTML report viewer is not built: run npm run build in the memwhy checkout (it writes dist/report-viewer.js)');
}
