/** How memwhy tells the user what it changed to run a program under an allocator. */
import type { AllocatorEnv } from '../collect/allocators.js';

/** "LD_PRELOAD=/usr/lib/.../libjemalloc.so.2; unset MALLOC_ARENA_MAX", or "environment unchanged". */
export function describeAllocatorEnv(change: AllocatorEnv): string {
  const parts = Object.entries(change.set).map(([k, v]) => `${k}=${v}`);
  if (change.unset.length > 0) parts.push(`unset ${change.unset.join(' ')}`);
  if (change.droppedPreloads.length > 0) parts.push(`dropped ${change.droppedPreloads.join(' ')} from LD_PRELOAD`);
  return parts.length > 0 ? parts.join('; ') : 'environment unchanged';
}

/**
 * A command line as bash would take it back, on one line: plain words as
 * they are, others single-quoted, and those with control characters (a
 * multi-line `python -c` program) in $'...' with escapes.
 */
export function quoteCommand(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}

function quoteArg(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  if (!/[\x00-\x1f\x7f]/.test(arg)) return `'${arg.replace(/'/g, `'\\''`)}'`;
  const escaped = arg.replace(/[\\'\x00-\x1f\x7f]/g, (c) => {
    const named: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\t': '\\t', '\r': '\\r' };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `$'${escaped}'`;
}
