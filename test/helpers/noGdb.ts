/**
 * A PATH under which gdb cannot be found, as on a slim host or in a
 * container: a directory of links to every program on the current PATH but
 * gdb (on Debian /bin is /usr/bin, so dropping a directory would drop
 * everything else too).
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tempDir.js';

let cached: string | undefined;

export function pathWithoutGdb(): string {
  if (cached) return cached;
  const dir = join(tempDir('memwhy-nogdb-'), 'bin');
  mkdirSync(dir);
  for (const from of (process.env.PATH ?? '').split(':')) {
    if (!from || !existsSync(from)) continue;
    for (const name of readdirSync(from)) {
      if (/^gdb/.test(name) || existsSync(join(dir, name))) continue;
      symlinkSync(join(from, name), join(dir, name));
    }
  }
  cached = dir;
  return dir;
}
