/**
 * The shell of memwhy's self-contained HTML pages (the diagnosis report, the
 * heap explorer): the data in a `<script type="application/json">` block,
 * the bundled viewer inlined beside it, and a Content-Security-Policy that
 * forbids every fetch, so a page works offline and leaks nothing when opened.
 */
import { DATA_ELEMENT_ID, ROOT_ELEMENT_ID } from './html/shared.js';

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

export interface PageParts {
  title: string;
  /** memwhy's version, in the generator tag. */
  version: string;
  /** HTML shown without JavaScript (already escaped). */
  noscript: string;
  data: unknown;
  assets: ViewerAssets;
}

export function selfContainedPage(p: PageParts): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="memwhy ${escapeHtml(p.version)}">
<title>${escapeHtml(p.title)}</title>
<style>${inlineStyle(p.assets.css)}</style>
</head>
<body>
<noscript><p>${p.noscript}</p></noscript>
<div id="${ROOT_ELEMENT_ID}"></div>
<script type="application/json" id="${DATA_ELEMENT_ID}">${jsonForScript(p.data)}</script>
<script>${inlineScript(p.assets.js)}</script>
</body>
</html>
`;
}
