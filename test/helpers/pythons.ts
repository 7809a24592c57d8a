/**
 * The CPython interpreters on this machine: Debian's /usr/bin/python3 and every
 * version under ~/.pyenv/versions. Tests are parametrised over this list and
 * print it, so a run says which versions it covered.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Interpreter {
  /** Short label for test names: "debian-3.11", "pyenv-2.7". */
  label: string;
  path: string;
  /** "3.11.2" as the interpreter reports it. */
  version: string;
  major: number;
  minor: number;
}

function probe(path: string, origin: string): Interpreter | undefined {
  try {
    const out = execFileSync(path, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], {
      encoding: 'utf8',
      timeout: 10_000,
    }).trim();
    const [major, minor] = out.split('.').map(Number) as [number, number];
    return { label: `${origin}-${major}.${minor}`, path, version: out, major, minor };
  } catch {
    return undefined;
  }
}

let cached: Interpreter[] | undefined;

export function interpreters(): Interpreter[] {
  if (cached) return cached;
  const found: Interpreter[] = [];
  const seen = new Set<string>();
  const add = (path: string, origin: string): void => {
    if (!existsSync(path)) return;
    const real = realpathSync(path);
    if (seen.has(real)) return;
    seen.add(real);
    const it = probe(path, origin);
    if (it) found.push(it);
  };
  add('/usr/bin/python3', 'debian');
  const pyenv = process.env.PYENV_ROOT ?? join(homedir(), '.pyenv');
  const versions = join(pyenv, 'versions');
  if (existsSync(versions)) {
    for (const v of readdirSync(versions).sort()) {
      const m = /^(\d+)\.(\d+)/.exec(v);
      if (!m) continue;
      add(join(versions, v, 'bin', `python${m[1]}.${m[2]}`), 'pyenv');
    }
  }
  found.sort((a, b) => a.major - b.major || a.minor - b.minor || a.label.localeCompare(b.label));
  cached = found;
  process.stderr.write(`# CPython interpreters under test: ${found.map((i) => `${i.label} (${i.path})`).join(', ')}\n`);
  return found;
}
