/**
 * A C probe compiled against an interpreter's own headers, printing as JSON
 * the offsetof() of the fields memwhy reads from its memory: the check that
 * a layout table (src/cpython/*) matches the real structs. Shared by the
 * object, pending-call and collector layout tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Interpreter } from './pythons.js';
import { tempDir } from './tempDir.js';

function hasCompiler(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const COMPILER = hasCompiler();

/** Where py's headers are installed (Python.h, and internal/ on 3.7+). */
export function includeDir(py: Interpreter): string {
  return execFileSync(py.path, ['-c', 'import sysconfig; print(sysconfig.get_paths()["include"])'], { encoding: 'utf8', timeout: 10_000 }).trim();
}

/**
 * Why the probe cannot run for py here (a string for node:test's skip), or
 * false. `header` is the file the probe needs: 'Python.h', or 'internal' for
 * the internal headers.
 */
export function probeSkip(py: Interpreter, noLayout: string | false, header: 'Python.h' | 'internal'): string | false {
  if (noLayout) return noLayout;
  if (!COMPILER) return 'no C compiler';
  const include = includeDir(py);
  if (!existsSync(join(include, header))) return header === 'internal' ? `no internal headers at ${include}` : `no headers at ${include}`;
  return false;
}

/** Compiles probe.c against py's headers, runs it, and returns what it printed. */
export function runProbe(probe: string, py: Interpreter): Record<string, number> {
  const include = includeDir(py);
  const dir = tempDir('memwhy-probe-');
  try {
    const exe = join(dir, 'probe');
    execFileSync('cc', ['-w', `-I${include}`, `-I${join(include, 'internal')}`, '-o', exe, probe], { timeout: 60_000 });
    return JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as Record<string, number>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
