/** What to do about each cause, with the commands to run: plain sentences for the verdict. Pure. */
import type { Evidence } from '../evidence/evidence.js';
import type { Cause, CauseFinding, Suspect } from './diagnosis.js';

function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w./=:@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function recommendationsFor(cause: Cause, e: Evidence, suspects: Suspect[], findings: CauseFinding[]): string[] {
  const cmd = shellQuote(e.cmdline.length ? e.cmdline : [e.python.exe]);
  // The suspect to name: a program class with a site or a holder beats a builtin like str.
  const top = suspects.find((s) => s.path || s.site) ?? suspects[0];
  switch (cause) {
    case 'python-objects': {
      const out: string[] = [];
      const site = top?.site ?? e.tracemalloc.top?.[0]?.site;
      if (site) out.push(`Look at ${site}: it allocated ${top?.site ? `the growing ${top.type} objects` : 'the most memory still live from this window'}.`);
      if (top?.path) out.push(`They are kept alive by ${top.path.join(' -> ')}: bound that container (evict old entries, use an LRU or a weakref.WeakValueDictionary).`);
      if (top) out.push(`Confirm the fix with: memwhy growth ${e.pid} --every 10s --times 6`);
      return out;
    }
    case 'uncollectable':
      return [
        'Break the reference cycles or drop __del__ from the classes in them (before Python 3.4 a cycle with __del__ is never freed); on 3.4+ look for C types with tp_del.',
        `See the cycles with: memwhy gc ${e.pid}`,
      ];
    case 'cyclic-garbage':
      return [
        'Re-enable the cyclic collector (gc.enable()), or call gc.collect() periodically if it was disabled for latency.',
        `Check with: memwhy exec ${e.pid} -c 'import gc; print(gc.isenabled(), gc.get_threshold(), gc.get_count())'`,
      ];
    case 'native':
      return [
        'Native memory grows with no Python object owning it: suspect a C extension. Update the extensions that allocate (numpy, lxml, grpc, database drivers...) and watch `memwhy malloc` between requests.',
        `Measure it apart from Python: memwhy malloc ${e.pid} --json (allocator.in_use over time)`,
      ];
    case 'allocator-retention':
      return [
        `Run under an allocator that returns memory: memwhy run --allocator tcmalloc -- ${cmd}`,
        `Or cap glibc's arenas: MALLOC_ARENA_MAX=2 ${cmd} (memwhy run --arena-max 2 -- ${cmd})`,
        `Measure the choice on your workload: memwhy compare -- ${cmd}`,
        `Relief now, without a restart: memwhy trim ${e.pid}`,
      ];
    case 'thread-leak':
      return [`Threads accumulate: see what the new ones are doing with memwhy stacks ${e.pid}, and join or pool them.`];
    case 'unexplained':
      return [
        `RSS grows but no signal measured in this window grew with it: watch longer, so a slow one shows: memwhy diagnose ${e.pid} --duration 10m`,
        `Follow the C allocator apart from Python objects: memwhy malloc ${e.pid} --json, a few minutes apart`,
      ];
    case 'no-growth':
      return findings.some((f) => f.status === 'insufficient-data')
        ? [`Nothing grew in this window; watch longer under load: memwhy diagnose ${e.pid} --duration 5m`]
        : ['Memory is stable in this window: nothing to fix. Run again under load, or for longer, if it grows at other times.'];
  }
}
