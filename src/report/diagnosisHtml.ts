/**
 * `memwhy diagnose --html`: one static page that needs nothing else. The
 * Diagnosis goes in a `<script type="application/json">` block, the viewer
 * (built at package build time by scripts/build-viewer.mjs from
 * src/report/html/) is inlined beside it, and a Content-Security-Policy
 * forbids every fetch, so the page works offline and leaks nothing when opened.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Diagnosis } from '../analyze/diagnosis.js';
import { UserError } from '../errors.js';
import { CAUSE_LABEL, DATA_ELEMENT_ID, ROOT_ELEMENT_ID } from './html/shared.js';

export interface ViewerAssets {
  js: string;
  css: string;
}

/**
 * JSON that can sit inside a `<script>` element: `<` as `\u003c` so no
 * `</script>` or `<!--` can end or bend the element, `>` and `&` for good
 * measure, and U+2028/U+2029, which old JavaScript parsers take as line ends.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** `<\/script` is the same text to JavaScript (in strings, templates, regexes and comments) but does not close the element. */
export const inlineScript = (js: string): string => js.replace(/<\/(script)/gi, '<\\/$1');
/** In CSS `\/` is `/`. */
export const inlineStyle = (css: string): string => css.replace(/<\/(style)/gi, '<\\/$1');

/** Inline scripts and styles only; nothing may be fetched, not even an image. */
export const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:";

export function renderDiagnosisHtml(d: Diagnosis, assets: ViewerAssets): string {
  const cause = d.verdict.cause;
  const title = `memwhy: pid ${d.pid}, ${cause} (${CAUSE_LABEL[cause] ?? cause})`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="memwhy ${escapeHtml(d.memwhy_version)}">
<title>${escapeHtml(title)}</title>
<style>${inlineStyle(assets.css)}</style>
</head>
<body>
<noscript><p><strong>${escapeHtml(CAUSE_LABEL[cause] ?? cause)}.</strong> ${escapeHtml(d.verdict.summary)}<br>
This report draws its charts with JavaScript; the full diagnosis is in the page source, in the #${DATA_ELEMENT_ID} block.</p></noscript>
<div id="${ROOT_ELEMENT_ID}"></div>
<script type="application/json" id="${DATA_ELEMENT_ID}">${jsonForScript(d)}</script>
<script>${inlineScript(assets.js)}</script>
</body>
</html>
`;
}

/**
 * Reads the built viewer. From dist/report/ it sits in dist/; run from
 * src/report/ (tsx) it is the checkout's dist/ all the same.
 */
export function loadViewerAssets(): ViewerAssets {
  const candidates = [new URL('../', import.meta.url), new URL('../../dist/', import.meta.url)];
  for (const dir of candidates) {
    const js = fileURLToPath(new URL('report-viewer.js', dir));
    const css = fileURLToPath(new URL('report-viewer.css', dir));
    if (existsSync(js) && existsSync(css)) return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
  }
  throw new UserError('the HTML report viewer is not built: run npm run build in the memwhy checkout (it writes dist/report-viewer.js)');
}
