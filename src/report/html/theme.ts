/**
 * theme.css's colours for what the viewer draws itself, where a stylesheet
 * does not reach: uPlot's canvas and the attributes of the referrer graph's
 * SVG. Read from the page's styles when drawn, so each colour is defined
 * once, in theme.css.
 */

/** The custom properties of theme.css the viewer's scripts draw with. */
export type ThemeColour =
  | 'fg'
  | 'muted'
  | 'faint'
  | 'slate'
  | 'line'
  | 'card'
  | 'warm'
  | 'cool'
  | 'sky'
  | 'chart-grid'
  | 'chart-tick'
  | 'rss-fill'
  | 'node-root-fill'
  | 'node-garbage-fill'
  | 'node-object-fill'
  | 'node-object-line'
  | 'node-target-fill'
  | 'node-target-line'
  | 'node-referrer-line'
  | 'edge-label';

let rootStyle: CSSStyleDeclaration | undefined;

/** The colour as theme.css writes it ("#0072b2"). */
export function colour(name: ThemeColour): string {
  rootStyle ??= getComputedStyle(document.documentElement);
  return rootStyle.getPropertyValue(`--${name}`).trim();
}

/** The sans-serif stack of the chart's axes and the graph's labels, whose text is measured on a canvas. */
export const DRAWING_FONT = 'system-ui, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif';
