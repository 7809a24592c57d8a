/** The cards and blocks every section of the report is built from: a titled section, a table, a bar, a stat, a list of facts. */
import type { Cause, Diagnosis } from '../../analyze/diagnosis.js';
import { h, type Child } from './dom.js';
import { CAUSE_LABEL } from './shared.js';

/** How a section asks to draw once the page holds it (charts measure their container). */
export type Mount = (draw: () => void) => void;

export function section(id: string, title: string, ...content: Child[]): HTMLElement {
  return h('section', { id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...content);
}

export function causeBadge(cause: Cause, small = false): HTMLElement {
  return h('span', { class: `badge cause-${cause}${small ? ' small' : ''}`, title: cause }, CAUSE_LABEL[cause] ?? cause);
}

/** "Not measured", with the notes that say why when there are any. */
export function notMeasured(d: Diagnosis, about: RegExp): HTMLElement {
  const why = d.notes.filter((n) => about.test(n));
  return h('p', { class: 'not-measured' }, h('strong', null, 'Not measured.'), why.length ? ` ${why.join(' ')}` : null);
}

/** A column: its heading, and the class its <col> and <th> carry (the stylesheet gives the text columns their shares). */
export type Column = [title: string, cls: string];

/**
 * A table whose text cells wrap anywhere (viewer.css): a long path wraps
 * inside its column instead of pushing the table past its card.
 */
export function table(columns: Column[], rows: HTMLTableRowElement[], cls: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: cls },
      h('colgroup', null, ...columns.map(([, c]) => h('col', { class: c }))),
      h('thead', null, h('tr', null, ...columns.map(([t, c]) => h('th', { class: c }, t)))),
      h('tbody', null, ...rows),
    ),
  );
}

export function bar(fraction: number, cls = ''): HTMLElement {
  const fill = h('span', { class: `fill ${cls}` });
  fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return h('span', { class: 'bar' }, fill);
}

export function stat(label: string, value: string, detail?: string): HTMLElement {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), detail ? h('div', { class: 'stat-detail' }, detail) : null);
}

export function dl(items: [string, Child][]): HTMLElement {
  return h('dl', { class: 'facts' }, ...items.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}
