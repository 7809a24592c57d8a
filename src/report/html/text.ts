/**
 * Long paths, dotted names and sentences as the viewer shows them: shortened
 * on screen but whole in the page (paths.ts), with line-break opportunities
 * where a reader expects a line to break.
 */
import { h, type Child } from './dom.js';
import { isShortened, shortenPath, splitPaths, type PathPart } from './paths.js';

/**
 * Text with a line-break opportunity (<wbr>, which adds no text to a copy)
 * after each joint character, so `sqlalchemy.orm.state.InstanceState` or a
 * path wraps at its dots or slashes before the browser breaks inside a word.
 */
function breakable(text: string, joints: string): Child[] {
  const out: Child[] = [];
  let from = 0;
  for (let i = 0; i < text.length - 1; i++) {
    if (!joints.includes(text[i]!)) continue;
    out.push(text.slice(from, i + 1), h('wbr', null));
    from = i + 1;
  }
  out.push(text.slice(from));
  return out;
}

/** The class of an element that holds one shortened path (and has it whole in its title). */
const SHORT = 'short';

function pathParts(parts: readonly PathPart[]): Child[] {
  return parts.flatMap((p): Child[] =>
    p.elided ? [p.marker ? h('span', { class: 'elision', 'data-marker': p.marker, 'aria-hidden': 'true' }) : null, h('span', { class: 'elided' }, p.text)] : breakable(p.text, '/'),
  );
}

/** A `file:line` cell: shortened on screen, whole in the title and in a copy. */
export function pathCode(path: string): HTMLElement {
  const parts = shortenPath(path);
  const short = isShortened(parts);
  return h('code', { class: short ? `path-text ${SHORT}` : 'path-text', title: short ? path : undefined }, ...pathParts(parts));
}

/**
 * Free text (a label, a sentence) with any long absolute path in it shortened,
 * each with its own title; `joints` adds break opportunities to the rest (`.`
 * for a referrer label full of dotted names).
 */
export function withPaths(text: string, joints = ''): Child[] {
  return splitPaths(text).flatMap((piece): Child[] => {
    if (!piece.isPath) return joints ? breakable(piece.text, joints) : [piece.text];
    const parts = shortenPath(piece.text);
    return isShortened(parts) ? [h('span', { class: SHORT, title: piece.text }, ...pathParts(parts))] : breakable(piece.text, '/');
  });
}

/** A dotted name (a type, a module) that may wrap at its dots. */
export const dotted = (name: string): Child[] => breakable(name, '.');

/**
 * A selection that starts or ends inside a shortened path would copy only the
 * visible tail (or only the hidden head): widen it to the whole path first.
 * The browser copies the selection as it is after the copy event's listeners.
 */
export function widenCopyToWholePaths(): void {
  document.addEventListener('copy', () => {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount !== 1 || sel.isCollapsed) return;
    const range = sel.getRangeAt(0);
    const shortAround = (n: Node): Element | null => (n instanceof Element ? n : n.parentElement)?.closest(`.${SHORT}`) ?? null;
    const first = shortAround(range.startContainer);
    const last = shortAround(range.endContainer);
    if (!first && !last) return;
    const wide = range.cloneRange();
    if (first) wide.setStartBefore(first);
    if (last) wide.setEndAfter(last);
    sel.removeAllRanges();
    sel.addRange(wide);
  });
}

/**
 * A sentence with break opportunities only where a reader expects a line to
 * break: after the dots of a dotted name (`app.cache._SESSIONS`), not the dot
 * of `2.6 MiB` or a sentence's end; paths are shortened as everywhere else.
 */
export function prose(text: string): Child[] {
  const isName = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);
  return splitPaths(text).flatMap((piece): Child[] => {
    if (piece.isPath) return withPaths(piece.text);
    const out: Child[] = [];
    let from = 0;
    const t = piece.text;
    for (let i = 1; i < t.length - 1; i++) {
      if (t[i] !== '.' || !isName(t[i - 1]) || !/[A-Za-z_]/.test(t[i + 1]!)) continue;
      out.push(t.slice(from, i + 1), h('wbr', null));
      from = i + 1;
    }
    out.push(t.slice(from));
    return out;
  });
}
