/**
 * From diagnose's evidence to its verdict. One analyser per signal, each in
 * src/analyze/signals/ as `(facts) => CauseFinding` with the numbers that
 * decided it; src/analyze/weigh.ts weighs the findings into the main cause;
 * src/analyze/recommendations.ts says what to do. This file assembles the
 * document. Pure: no I/O, no clock. Adding a cause: a signal file, a line in
 * the findings list below, its recommendations.
 *
 * Thresholds, and why:
 * - RSS "grows" when it climbs by the Mann-Kendall test (p < 0.01 over the
 *   samples) and the Theil-Sen slope over the window adds more than
 *   max(1 MiB, 2 % of RSS): smaller drifts are allocator noise on an idle
 *   interpreter (seen: +-300 KiB over 30 s on an idle 3.11 target). A
 *   serving process's RSS jitters by MiBs from second to second: least
 *   squares' r² (>= 0.8, the old rule) called 80-160 KiB/s leaks there
 *   stable, the order-based tests do not.
 * - The RSS memwhy's own steps cause (a census that ran inside the target)
 *   is taken out of the series before it is fitted.
 * - Python objects grow when types climb steadily across the censuses
 *   (src/analyze/growth.ts: Mann-Kendall over 5+ censuses) by 512 KiB or
 *   more in the window, whatever RSS does (it lags while freed space is
 *   reused); a batch caught half-way by one census does not climb steadily.
 * - Native memory is what the C allocator's in-use bytes gained beyond what
 *   the Python objects' growth costs it: shallow sizes undercount (rounding,
 *   pymalloc pools, over-allocated containers; measured up to 1.4x), so the
 *   Python growth is weighted by 2 and the rest must still be at least
 *   4 MiB and half the RSS growth.
 * - Retention is an issue from 30 % of RSS and 32 MiB free-but-held
 *   (src/analyze/malloc.ts), and proven when a trim gives back at least a
 *   quarter of what the counters said was held.
 */
import type { DumpFacts, Evidence } from '../evidence/evidence.js';
import type { Hop } from '../collect/refs.js';
import { growthOf } from './growth.js';
import { breakdownMalloc, type MallocBreakdown } from './malloc.js';
import { formatBytes, formatRate } from '../util/units.js';
import type { AllocationSite, BreakdownLine, Cause, CauseFinding, Diagnosis, Suspect } from './diagnosis.js';
import { rankSuspects } from './suspects.js';
import { rssFacts } from './signals/rss.js';
import { heapDelta, hourly, pythonObjectsFinding } from './signals/pythonObjects.js';
import { uncollectableFinding } from './signals/uncollectable.js';
import { cyclicGarbageFinding } from './signals/cyclicGarbage.js';
import { nativeFinding } from './signals/native.js';
import { retentionFinding } from './signals/retention.js';
import { threadLeakFinding } from './signals/threadLeak.js';
import { confidenceOf, lower, stableConfidence, weigh } from './weigh.js';
import { recommendationsFor } from './recommendations.js';

// The signals and the suspects, for callers that took them from here.
export { pickSuspectTypes } from './suspects.js';
export { rssFacts, withoutMemwhySteps, type RssFacts } from './signals/rss.js';
export { hourly, pythonObjectsFinding } from './signals/pythonObjects.js';
export { uncollectableFinding, cyclicGarbageFinding, nativeFinding, retentionFinding, threadLeakFinding };

function siteFor(e: Evidence, type: string): string | null {
  return e.tracemalloc.type_sites?.[type]?.[0]?.site ?? null;
}

/** A chain through memwhy's own agent (its modules are named __memwhy_*__): not the program's holder. */
function throughMemwhy(labels: readonly string[]): boolean {
  return labels.some((l) => l.includes('__memwhy'));
}

/** The hops from a root to an instance of `type`, from its own referrer search or met on the way to another suspect's. */
function chainFor(e: Evidence, type: string): Hop[] | null {
  const r = e.refs.find((x) => x.type === type);
  const chains = (r?.chains ?? []).filter((c) => !throughMemwhy(c.hops.map((h) => h.label)));
  const chain = chains.find((c) => c.complete) ?? chains[0];
  if (chain) return chain.hops;
  // Not searched itself, but met on the way to another suspect (the Session
  // on the path to its strings): the path up to it.
  for (const other of e.refs) {
    for (const c of other.chains) {
      const labels = c.hops.map((h) => h.label);
      if (throughMemwhy(labels)) continue;
      const at = labels.indexOf(type);
      if (at > 0) return c.hops.slice(0, at + 1);
    }
  }
  return null;
}

/**
 * What the chain's holder retains in the heap dump taken at the end: the
 * first object after the root (the global, attribute or local the program
 * keeps the growing instances in), or the instance itself when the root
 * refers to it directly.
 */
function holderIn(dump: DumpFacts | undefined, hops: Hop[] | null): Suspect['holder'] {
  if (!dump || !hops || hops.length < 2) return null;
  const hop = hops[1]!;
  const r = dump.retained[hop.addr];
  if (!r) return null;
  return { label: hop.label, bytes: r.bytes, objects: r.objects, share: dump.bytes > 0 ? r.bytes / dump.bytes : 0 };
}

function breakdownLines(b: MallocBreakdown | null): BreakdownLine[] {
  if (!b) return [];
  const a = b.allocator;
  const lines: BreakdownLine[] = [
    { label: 'RSS', bytes: b.rss, depth: 0, source: 'VmRSS' },
    { label: 'file-backed (code, libraries, mapped files)', bytes: b.file, depth: 1, source: 'RssFile' },
    { label: 'anonymous', bytes: b.anon, depth: 1, source: 'RssAnon' },
    { label: `thread stacks (${b.stacks.threads} + main)`, bytes: b.stacks.thread_rss + b.stacks.main_rss, depth: 2, source: 'smaps' },
    { label: 'pymalloc arenas', bytes: b.python.arena_bytes, depth: 2, source: 'sys._debugmallocstats' },
    { label: 'Python objects in pymalloc', bytes: b.python.live, depth: 3, source: 'sys._debugmallocstats' },
    { label: `${a.name} in use`, bytes: a.in_use, depth: 2, source: a.source },
    { label: `${a.name} free, held`, bytes: a.free_resident, depth: 2, source: a.source },
    { label: 'other anonymous', bytes: b.derived.other_anon, depth: 2, source: 'anonymous minus the lines above' },
  ];
  return lines;
}

function sitesOf(e: Evidence): AllocationSite[] | null {
  if (!e.tracemalloc.top) return null;
  return e.tracemalloc.top.map((s) => ({ site: s.site, size_diff: s.size_diff, count_diff: s.count_diff, size: s.size, count: s.count, traceback: s.traceback }));
}

export function diagnose(e: Evidence): Diagnosis {
  const rss = rssFacts(e);
  const censuses = [...e.censuses].sort((a, b) => a.t - b.t);
  const growth = censuses.length >= 2 ? growthOf(censuses) : null;
  const heap = heapDelta(censuses);
  const mStart = e.malloc.start ? breakdownMalloc(e.malloc.start) : null;
  const mEnd = e.malloc.end ? breakdownMalloc(e.malloc.end) : null;

  const findings: CauseFinding[] = [
    pythonObjectsFinding(rss, censuses, growth, e.tracemalloc.already_tracing ? null : (e.tracemalloc.traced_total ?? null), e.refs),
    uncollectableFinding(e),
    cyclicGarbageFinding(e, heap),
    nativeFinding(rss, mStart, mEnd, heap),
    retentionFinding(mStart, mEnd, e, rss),
    threadLeakFinding(rss),
  ];
  const { ranked, main, runnerUp, close } = weigh(findings, rss, heap);
  // RSS that climbs with nothing beneath it is not "no growth": saying so
  // contradicted the summary's own numbers (issue 11).
  const cause: Cause = main?.cause ?? (rss.growing ? 'unexplained' : 'no-growth');

  const suspects: Suspect[] = (growth ? rankSuspects(growth) : []).slice(0, 10).map((t) => {
    const hops = chainFor(e, t.type);
    return {
      type: t.type,
      count_delta: t.count_delta,
      bytes_delta: t.bytes_delta,
      count_per_s: t.count_per_s,
      bytes_per_s: t.bytes_per_s,
      site: siteFor(e, t.type),
      path: hops?.map((h) => h.label) ?? null,
      holder: holderIn(e.dump, hops),
    };
  });

  const rssLine = `RSS went from ${formatBytes(rss.start)} to ${formatBytes(rss.end)} in ${rss.duration_s.toFixed(0)} s (${formatRate(rss.slope)}${rss.r2 !== null ? `, r² ${rss.r2.toFixed(2)}` : ''})`;
  const summary = main
    ? `${capitalize(main.summary)}.` + (close ? ` ${capitalize(runnerUp!.cause.replace('-', ' '))} also grows: ${runnerUp!.summary}.` : '')
    : rss.growing
      ? `RSS grows (${formatRate(rss.slope)}, ${hourly(rss.slope)}) but no measured signal explains it: neither Python objects, the collector, the C allocator's in-use bytes nor threads grew with it.`
      : `Memory is stable: ${rssLine}.`;
  const evidence = [rssLine, ...(main ? [main.summary] : []), ...ranked.filter((f) => f !== main).map((f) => f.summary)];
  const notes = [...e.notes];
  if (e.tracemalloc.skipped) notes.push(`no allocation sites: ${e.tracemalloc.skipped}`);

  const gcEnd = e.gc.end;
  const t = e.trim;
  return {
    memwhy_version: e.memwhy_version,
    pid: e.pid,
    python: e.python,
    cmdline: e.cmdline,
    window: { start: new Date(e.started_at).toISOString(), end: new Date(e.ended_at).toISOString(), duration_s: rss.duration_s },
    verdict: {
      cause,
      summary,
      confidence: main ? lower(confidenceOf(main.score, cause, e), close) : rss.growing ? 'low' : stableConfidence(rss, findings),
      evidence,
      other_causes: ranked.filter((f) => f !== main).map((f) => ({ cause: f.cause, summary: f.summary })),
    },
    rss: {
      start: rss.start,
      end: rss.end,
      slope: rss.slope,
      r2: rss.r2,
      samples: e.samples.map((s) => [(s.t - (e.samples[0]?.t ?? s.t)) / 1000, s.rss, s.anon, s.threads]),
      steps: (e.steps ?? []).map((st) => ({
        what: st.what,
        start_s: (st.start - (e.samples[0]?.t ?? st.start)) / 1000,
        end_s: (st.end - (e.samples[0]?.t ?? st.start)) / 1000,
        in_target: st.in_target,
      })),
      memwhy_steps_bytes: rss.memwhy_steps,
    },
    threads: {
      start: rss.threads_start,
      end: rss.threads_end,
      slope_per_min: rss.duration_s > 0 ? ((rss.threads_end - rss.threads_start) / rss.duration_s) * 60 : 0,
    },
    heap: censuses.length
      ? {
          start: censuses[0]!.total,
          end: censuses[censuses.length - 1]!.total,
          pause_ms: Math.max(...censuses.map((c) => c.pause_ms)),
        }
      : null,
    suspects,
    ...(e.dump ? { heap_dump: { file: e.dump.file, objects: e.dump.objects, bytes: e.dump.bytes } } : {}),
    allocation_sites: sitesOf(e),
    gc: gcEnd
      ? {
          enabled: gcEnd.enabled,
          thresholds: gcEnd.thresholds,
          garbage_start: e.gc.start?.garbage.count ?? 0,
          garbage_end: gcEnd.garbage.count,
          collections: gcEnd.stats ? gcEnd.stats.map((s) => s.collections) : null,
          uncollectable: gcEnd.stats ? gcEnd.stats.reduce((n, s) => n + s.uncollectable, 0) : null,
        }
      : null,
    breakdown: breakdownLines(mEnd),
    trim: t ? { rss_before: t.before.rss, rss_after: t.after.rss, released: t.before.rss - t.after.rss, pause_ms: t.agent.pause_ms ?? 0 } : null,
    refs_graph: e.refs.length ? mergeGraphs(e) : null,
    findings,
    recommendations: recommendationsFor(cause, e, suspects, findings),
    notes,
  };
}

function mergeGraphs(e: Evidence): NonNullable<Diagnosis['refs_graph']> {
  const nodes = new Map<string, { id: string; label: string; kind: string; type: string }>();
  const edges: { from: string; to: string; label: string }[] = [];
  for (const r of e.refs) {
    for (const n of r.graph.nodes) nodes.set(n.id, n);
    edges.push(...r.graph.edges);
  }
  return { nodes: [...nodes.values()], edges };
}

/** Capitalises a sentence, unless it starts with a code name (gc.garbage). */
function capitalize(s: string): string {
  return /^([a-z_]+\.[a-z_]|glibc|jemalloc|tcmalloc|mimalloc)/.test(s) ? s : s.charAt(0).toUpperCase() + s.slice(1);
}
