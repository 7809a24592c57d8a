/** Terminal output for `memwhy malloc` and `memwhy trim`: the verdict first, then the measured lines. */
import type { MallocBreakdown, TrimSummary } from '../analyze/malloc.js';
import { formatBytes } from '../util/units.js';
import { renderTable } from './table.js';

function bytes(n: number | null): string {
  return n === null ? 'unknown' : formatBytes(n);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)} %`;
}

function allocatorLabel(b: MallocBreakdown): string {
  const a = b.allocator;
  const how = a.via === 'LD_PRELOAD' ? ', via LD_PRELOAD' : a.via === 'mapped' ? ', mapped' : '';
  return `${a.name}${a.library ? ` (${a.library}${how})` : how ? ` (${how.slice(2)})` : ''}`;
}

export function renderMalloc(b: MallocBreakdown): string {
  const out: string[] = [];
  const a = b.allocator;
  const p = b.python;
  out.push(`pid ${b.pid}, CPython ${b.python_version}, malloc served by ${allocatorLabel(b)}`);
  out.push('');
  const f = b.finding;
  const label = { issue: 'RETENTION', none: 'No retention to speak of', 'insufficient-data': 'Retention unknown' }[f.status];
  out.push(`${label}: ${f.summary}.`);
  if (f.status === 'issue') {
    out.push(`  memwhy trim ${b.pid} asks ${a.name} to give it back and measures what returns.`);
    if (a.name === 'glibc' && (a.arenas ?? 0) > 2) {
      out.push(`  ${a.arenas} arenas: fewer (MALLOC_ARENA_MAX=2) or another allocator may keep less; memwhy compare measures it.`);
    }
  }
  out.push('');

  const rows: string[][] = [
    ['RSS', formatBytes(b.rss), 'VmRSS (/proc/PID/status)'],
    ['  file-backed', formatBytes(b.file), 'RssFile: code, libraries, mapped files'],
    ['  anonymous', formatBytes(b.anon), 'RssAnon'],
    [`    thread stacks (${b.stacks.threads} + main)`, formatBytes(b.stacks.thread_rss + b.stacks.main_rss), 'smaps: guarded stack mappings, [stack]'],
  ];
  if (p.arena_bytes !== null) {
    rows.push([
      `    pymalloc arenas (${p.arenas} x ${formatBytes(p.arena_size ?? 0)})`,
      formatBytes(p.arena_bytes),
      `mapped size; objects ${bytes(p.live)}, free blocks ${bytes(p.free)}, unused pools ${bytes(p.unused_pools)}`,
    ]);
  } else {
    rows.push(['    pymalloc arenas', 'unknown', p.unknown ?? '']);
  }
  if (a.in_use !== null) {
    rows.push([`    ${a.name} in use`, formatBytes(a.in_use), `${a.source}; includes Python objects over 512 B`]);
  } else {
    rows.push([`    ${a.name} in use`, 'unknown', a.unknown ?? '']);
  }
  if (a.free_resident !== null) {
    const counter = a.free !== null && a.free !== a.free_resident ? `; ${formatBytes(a.free)} by its counters` : '';
    rows.push([`    ${a.name} free, held`, formatBytes(a.free_resident), `resident${a.arenas !== null ? ` in ${a.arenas} arenas` : ''}${counter}`]);
  }
  if (a.per_arena && a.per_arena.length > 0) {
    const biggest = [...a.per_arena].sort((x, y) => y.free - x.free).slice(0, 4);
    const more = a.per_arena.length - biggest.length;
    rows.push(['      by arena (free of from-OS)', '', biggest.map((x) => `#${x.nr} ${formatBytes(x.free)} of ${formatBytes(x.system)}`).join(', ') + (more > 0 ? `, ${more} more` : '')]);
  }
  if (a.mmapped) rows.push([`    ${a.name} mmapped chunks (${a.mmapped.count})`, formatBytes(a.mmapped.bytes), 'in use, each its own mapping']);
  if (a.name === 'mimalloc' && a.system !== null) rows.push(['    mimalloc committed', formatBytes(a.system), a.source]);
  if (b.derived.other_anon !== null) {
    rows.push(['    other anonymous', formatBytes(b.derived.other_anon), 'anonymous minus the lines above (extension mmaps, estimates)']);
  }
  out.push(renderTable([{ header: 'MEMORY' }, { header: 'BYTES', align: 'right' }, { header: 'MEASURED BY' }], rows).trimEnd());
  out.push('');

  const d = b.derived;
  out.push('Derived:');
  if (d.retention !== null && d.held_free !== null) {
    out.push(`  retention        ${percent(d.retention)} of RSS: ${formatBytes(d.held_free)} free but held (${a.name} free resident + pymalloc free blocks)`);
  } else {
    out.push('  retention        unknown (the allocator gives no free-memory figure)');
  }
  if (d.native_in_use !== null) {
    if (d.native_outside_python !== null && d.python_in_malloc !== null) {
      out.push(
        `  native in use    ${formatBytes(d.native_outside_python)} in ${a.name} that no Python allocation accounts for ` +
          `(${formatBytes(d.native_in_use)} in use minus ${formatBytes(d.python_in_malloc)} Python allocations over 512 B, by tracemalloc)`,
      );
    } else {
      out.push(
        `  native in use    ${formatBytes(d.native_in_use)} in ${a.name}: extension and interpreter buffers plus Python objects over 512 B ` +
          '(telling them apart needs tracemalloc running in the target)',
      );
    }
  }
  out.push(`  pause            ${b.pause_ms.toFixed(1)} ms inside the target to read the counters`);
  return out.join('\n') + '\n';
}

export function renderTrim(t: TrimSummary): string {
  const out: string[] = [];
  if (t.call === null || t.pause_ms === null) {
    out.push(`memwhy could not trim pid ${t.pid}: ${t.unknown ?? 'no trim call for this allocator'}`);
    return out.join('\n') + '\n';
  }
  const verdict =
    t.released > 0
      ? `${t.call} gave back ${formatBytes(t.released)} (${percent(t.released_share)} of RSS) in ${t.pause_ms.toFixed(1)} ms`
      : `${t.call} gave nothing back (RSS ${t.released < 0 ? `grew ${formatBytes(-t.released)}` : 'unchanged'}) in ${t.pause_ms.toFixed(1)} ms`;
  out.push(`pid ${t.pid}, ${t.allocator}: ${verdict}`);
  out.push('');
  const rows = [
    ['RSS before', formatBytes(t.rss_before)],
    [`RSS after (${t.settle_ms} ms later)`, formatBytes(t.rss_after)],
    ['released', formatBytes(t.released)],
    ['anonymous before / after', `${formatBytes(t.anon_before)} / ${formatBytes(t.anon_after)}`],
    ['pause inside the target', `${t.pause_ms.toFixed(1)} ms`],
  ];
  if (t.gc) rows.push(['gc.collect() first', `${t.gc.collected} objects, ${t.gc.ms.toFixed(1)} ms`]);
  out.push(renderTable([{ header: 'TRIM' }, { header: 'VALUE', align: 'right' }], rows).trimEnd());
  if (t.allocator === 'mimalloc' && t.released <= 0) {
    out.push('');
    out.push("mi_collect(true) collects the calling thread's heap, here memwhy's agent thread; the free pages of");
    out.push("the program's own threads are returned by those threads, on mimalloc's schedule.");
  }
  if (t.released > 0 && t.released_share >= 0.2) {
    out.push('');
    out.push('The memory was free but held; RSS may grow back as the program allocates again. Calling');
    out.push(`${t.call} periodically, or an allocator that returns memory on its own, keeps RSS down.`);
  }
  return out.join('\n') + '\n';
}
