/** Finds a fixture's "# LINE: name" markers, so tests never hard-code line numbers. */
import { readFileSync } from 'node:fs';

export function markerLines(path: string): Map<string, number> {
  const lines = new Map<string, number>();
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const m = /# LINE: ([\w-]+)/.exec(text);
      if (m) lines.set(m[1]!, i + 1);
    });
  return lines;
}
