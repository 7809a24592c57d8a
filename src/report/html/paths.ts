/**
 * Long file paths made short for the report's tables, without losing them.
 *
 * A path is cut into parts whose texts, joined, are the whole path again: the
 * elided parts stay in the page (hidden, so a select-and-copy still gives the
 * full path; the viewer also puts it in a `title`), the others are shown.
 * Pure string work, no DOM, so the rules are unit-tested
 * (test/report/report_paths.test.ts).
 *
 * What is dropped is what a reader already knows:
 * - `.../site-packages/` and `.../dist-packages/`: shown from the package down
 *   (`werkzeug/routing/matcher.py:77`), as tracebacks are read;
 * - the standard library's `.../lib/pythonX.Y/`: shown from the module down
 *   (`asyncio/tasks.py:12`);
 * - any other long path: its last 3 components (2 when those are long),
 *   after a `…/` that says something was cut.
 */

export interface PathPart {
  /** This part of the original text, exactly. */
  text: string;
  /** Hidden on screen (still in the page, for copy and search). */
  elided: boolean;
  /** What stands in for an elided part on screen: `…/` or nothing. */
  marker: string;
}

/** A path with nothing to cut is shown whole. */
const SHORT_ENOUGH = 40;
/** Components kept of a long path outside any Python lib directory. */
const KEEP = 3;
/** When the last 3 components are longer than this, 2 are kept. */
const KEEP_MAX_CHARS = 40;

/** The last `site-packages/` or `dist-packages/` (a venv inside a checkout inside a container: the innermost counts). */
const PACKAGES = /^(.*\/(?:site|dist)-packages\/)(?=[^/])/;
/** `lib/python3.12/`, `lib64/python3.11/`, `lib/python3.13t/` (free-threaded), `lib/python2.7/`. */
const STDLIB = /^(.*\/lib(?:64)?\/python\d+(?:\.\d+)?t?\/)(?=[^/])/;

const whole = (text: string): PathPart[] => [{ text, elided: false, marker: '' }];

/** One path (`file` or `file:line`) cut into shown and elided parts. */
export function shortenPath(path: string): PathPart[] {
  const lib = PACKAGES.exec(path) ?? STDLIB.exec(path);
  if (lib) {
    const prefix = lib[1]!;
    return [
      { text: prefix, elided: true, marker: '' },
      { text: path.slice(prefix.length), elided: false, marker: '' },
    ];
  }
  if (path.length <= SHORT_ENOUGH) return whole(path);
  const parts = path.split('/');
  // Nothing to gain by cutting one leading component (or the empty one before a leading /).
  if (parts.length <= KEEP + 1) return whole(path);
  let keep = KEEP;
  if (parts.slice(-keep).join('/').length > KEEP_MAX_CHARS) keep = 2;
  const shown = parts.slice(-keep).join('/');
  return [
    { text: path.slice(0, path.length - shown.length), elided: true, marker: '…/' },
    { text: shown, elided: false, marker: '' },
  ];
}

/**
 * An absolute path inside free text ("frame handle (/srv/app/x.py:12)"): it
 * starts a word (or follows `(`, `[`, a quote, `=` or `,`) and runs to the
 * next space or closing bracket/quote.
 */
const PATH_IN_TEXT = /(^|[\s([{'"=,])(\/[^\s()[\]{}'",<>]+)/g;

export interface TextPiece {
  text: string;
  isPath: boolean;
}

/** A text cut into its absolute paths and the words between them (joined, the pieces are the text). */
export function splitPaths(text: string): TextPiece[] {
  const out: TextPiece[] = [];
  let at = 0;
  for (const m of text.matchAll(PATH_IN_TEXT)) {
    const start = (m.index ?? 0) + m[1]!.length;
    if (start > at) out.push({ text: text.slice(at, start), isPath: false });
    out.push({ text: m[2]!, isPath: true });
    at = start + m[2]!.length;
  }
  if (at < text.length || !out.length) out.push({ text: text.slice(at), isPath: false });
  return out;
}

/** Every absolute path in a text shortened as shortenPath does; the rest of the text kept as it is. */
export function shortenPathsIn(text: string): PathPart[] {
  return splitPaths(text).flatMap((p) => (p.isPath ? shortenPath(p.text) : [{ text: p.text, elided: false, marker: '' }]));
}

/** The text a reader sees. */
export const shownText = (parts: readonly PathPart[]): string => parts.map((p) => (p.elided ? p.marker : p.text)).join('');

/** The text the parts stand for (what a copy gives). */
export const fullText = (parts: readonly PathPart[]): string => parts.map((p) => p.text).join('');

export const isShortened = (parts: readonly PathPart[]): boolean => parts.some((p) => p.elided);
