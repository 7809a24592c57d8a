/**
 * Gathers the evidence `memwhy diagnose` decides from, in one agent session:
 * censuses at the start, middle and end of the window, the collector's state
 * at both ends, tracemalloc over the window, RSS and threads sampled
 * throughout, the allocator's counters at both ends, the trim proof when
 * retention is suspected, and referrer chains for the top suspects. The
 * result is plain data: `--save DIR` writes it, `memwhy report DIR`
 * analyses it again.
 */
import { openAgent, type OpenedSession } from '../attach/agentSession.js';
import type { AttachOptions } from '../attach/session.js';
import { describePython } from '../target/python.js';
import { collectCensus, type Census } from './census.js';
import { collectGcState } from './gc.js';
import { collectHeapDump, type HeapDumpEvidence } from './heapdump.js';
import { retainedInDump } from './dumpRetained.js';
import { collectMalloc, trimThroughAgent } from './malloc.js';
import { collectRefs } from './refs.js';
import { sampleMemory, watchMemory, type MemorySample } from './rss.js';
import { EVIDENCE_FORMAT, type Evidence, type MemwhyStep, type TracemallocEvidence } from '../evidence/evidence.js';

export { EVIDENCE_FORMAT, type Evidence, type MemwhyStep, type TracemallocEvidence };
import { breakdownMalloc } from '../analyze/malloc.js';
import { growthOf } from '../analyze/growth.js';
import { pickSuspectTypes } from '../analyze/suspects.js';

export interface DiagnoseOptions extends AttachOptions {
  durationS: number;
  intervalS: number;
  /** Heap censuses across the window, both ends included (at least 2; default 6). */
  censuses?: number;
  tracemalloc: boolean;
  trim: boolean;
  signal?: AbortSignal;
  lockWaitS?: number;
  memwhyVersion: string;
  /** Write a heap dump here at the end of the window (after the last census), and size the referrer chains' objects in it. */
  dumpTo?: string;
  /** Replace an existing file at dumpTo that memwhy did not write. */
  force?: boolean;
  /** Progress: a phase name, and (while sampling) the elapsed fraction. */
  onPhase?: (phase: string, fraction?: number) => void;
}

/** Runs a probe; a failure becomes a note instead of ending the diagnosis. */
async function attempt<T>(notes: string[], what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    notes.push(`${what} failed: ${(err as Error).message}`);
    return null;
  }
}

export async function gatherEvidence(pid: number, opts: DiagnoseOptions): Promise<Evidence> {
  const target = describePython(pid);
  const notes: string[] = [];
  const phase = opts.onPhase ?? (() => undefined);
  phase('attaching');
  const session = await openAgent(pid, opts);
  const started_at = Date.now();
  const censuses: Census[] = [];
  let samples: MemorySample[] = [];
  const evidence: Evidence = {
    format: EVIDENCE_FORMAT,
    memwhy_version: opts.memwhyVersion,
    pid,
    python: { version: target.version.text, exe: target.exe },
    cmdline: target.cmdline,
    started_at,
    ended_at: started_at,
    samples,
    censuses,
    gc: { start: null, end: null },
    tracemalloc: {},
    malloc: { start: null, end: null },
    trim: null,
    refs: [],
    notes,
  };
  let written: HeapDumpEvidence | null = null;
  try {
    // The allocator and collector probes load their agent modules (_ctypes
    // among them) before the first census, so the agent's own objects are
    // not counted as the program's growth.
    evidence.malloc.start = await attempt(notes, 'reading the allocator', () => collectMalloc(session));
    evidence.gc.start = await attempt(notes, 'reading the collector state', () => collectGcState(session));
    // Importing tracemalloc makes classes and functions: load it before the
    // first census so they do not count as the program's growth. Tracing
    // itself runs only between the first and the last census: a census
    // under tracing is several times slower, and so is the program.
    if (opts.tracemalloc) await attempt(notes, 'loading tracemalloc', () => session.call('tracing.prepare'));
    // The module that forks the censuses, loaded now so its objects are in every census alike.
    await attempt(notes, 'preparing the snapshots', () => session.call('fork.room_for_child'));
    const steps: MemwhyStep[] = [];
    evidence.steps = steps;
    // A census, timed as a step of memwhy's own.
    const census = async (what: string): Promise<void> => {
      const start = Date.now();
      const c = await attempt(notes, `the ${what} heap census`, () => collectCensus(session));
      if (c) {
        censuses.push(c);
        steps.push({ what: `census (${what})`, start, end: Date.now(), in_target: c.snapshot?.forked !== true });
      }
    };
    phase('census (start)');
    await census('first');
    // tracemalloc slows an allocation-heavy program by 40-60 % while it
    // traces (BENCHMARKS.md): it runs over the window's last fifth only
    // (6 s to 2 min), which keeps the whole window's cost near a tenth, and
    // still catches where a steady leak allocates. Short windows (tests,
    // the demo) trace throughout.
    const traceS = opts.durationS < 10 ? opts.durationS : Math.min(120, Math.max(6, 0.2 * opts.durationS));
    let tracing: TracemallocEvidence = opts.tracemalloc ? {} : { skipped: 'turned off for this run' };
    let tracingStarted: Promise<void> | null = null;
    const beginTracing = (): Promise<void> => {
      const start = Date.now();
      return (tracingStarted ??= startTracing(session, notes).then((t) => {
        // In the target: the tracing module and tracemalloc's first tables
        // (+100 KiB at once on 3.13's steady target, a step in the RSS fit).
        steps.push({ what: 'tracemalloc start', start, end: Date.now(), in_target: true });
        tracing = t;
        evidence.tracemalloc = t;
        if (!t.skipped && traceS < opts.durationS) notes.push(`tracemalloc traced the window's last ${Math.round(traceS)} s (allocation sites come from those)`);
      }));
    };
    evidence.tracemalloc = tracing;
    if (opts.tracemalloc && traceS >= opts.durationS) await beginTracing();

    // The window: RSS and threads sampled from /proc, and censuses spread
    // evenly across it, so that a type that climbs in every census is told
    // from a batch that comes and goes.
    const count = Math.max(2, Math.round(opts.censuses ?? 6));
    const inner = opts.durationS >= 4 ? count - 2 : 0;
    let next = 1;
    let running: Promise<void> | null = null;
    const windowStart = Date.now();
    samples = await watchMemory(pid, {
      intervalS: opts.intervalS,
      durationS: opts.durationS,
      signal: opts.signal,
      onSample: () => {
        const elapsed = (Date.now() - windowStart) / 1000;
        const fraction = Math.min(1, elapsed / Math.max(opts.durationS, 0.001));
        phase('watching', fraction);
        if (opts.tracemalloc && !tracingStarted && elapsed >= opts.durationS - traceS) void beginTracing();
        if (!running && next <= inner && fraction >= next / (inner + 1)) {
          const label = `${next + 1} of ${inner + 2}`;
          next += 1;
          running = census(label).finally(() => {
            running = null;
          });
        }
      },
    });
    evidence.samples = samples;
    if (opts.signal?.aborted) notes.push('the window was cut short (interrupted): the verdict stands on what was gathered');
    // Wait for a census still running, so the session is free.
    if (running) await running;
    // A window cut short before tracing began: none to read.
    if (opts.tracemalloc && !tracingStarted) tracing = evidence.tracemalloc = { skipped: 'the window ended before tracing began' };
    if (tracingStarted) await tracingStarted;

    // Suspects from the censuses so far (all but the last), for tracemalloc's
    // per-type sites and the referrer search.
    const early = censuses.length >= 2 ? pickSuspectTypes(growthOf([...censuses].sort((a, b) => a.t - b.t)), 5) : [];
    if (!tracing.skipped) {
      phase('allocation sites');
      const taken = await attempt(notes, 'reading tracemalloc', () =>
        session.call<{ tracing: boolean } & Pick<TracemallocEvidence, 'traced_total' | 'top' | 'type_sites' | 'overhead'>>(
          'tracing.take',
          { limit: 25, types: early },
          { timeoutS: 300, fork: true, keepTracing: true },
        ),
      );
      if (taken?.tracing) {
        Object.assign(tracing, { traced_total: taken.traced_total, top: taken.top, type_sites: taken.type_sites, overhead: taken.overhead });
        if (Object.keys(taken.type_sites ?? {}).length === 0 && target.version.major === 3 && target.version.minor === 11) {
          notes.push("no allocation site per type: Python 3.11's tracemalloc cannot trace objects with managed dicts back (fixed in 3.12); the sites by line still stand");
        }
      }
    }
    // Referrers while tracemalloc still traces: the agent then follows the
    // instances allocated in the window (the leak's), not the first ones it
    // meets (often some library's constants).
    for (const type of early.slice(0, 3)) {
      phase(`referrers of ${type}`);
      const r = await attempt(notes, `finding referrers of ${type}`, () => collectRefs(session, { type, samples: 4, maxDepth: 20, keepTracing: true }));
      if (r) evidence.refs.push(r);
    }
    if (!tracing.skipped) await attempt(notes, 'stopping tracemalloc', () => session.call('tracing.stop'));
    phase('census (end)');
    await census('last');
    censuses.sort((a, b) => a.t - b.t);
    if (opts.dumpTo) {
      phase('heap dump');
      const start = Date.now();
      written = await attempt(notes, 'the heap dump', () => collectHeapDump(session, opts.dumpTo!, { force: opts.force }));
      if (written) steps.push({ what: 'heap dump', start, end: Date.now(), in_target: written.snapshot?.forked !== true });
    }
    evidence.gc.end = await attempt(notes, 'reading the collector state', () => collectGcState(session));

    // Read after tracing stopped: tracemalloc's hooks hide pymalloc from the allocator probe.
    evidence.malloc.end = await attempt(notes, 'reading the allocator', () => collectMalloc(session));

    if (opts.trim && evidence.malloc.end) {
      const b = breakdownMalloc(evidence.malloc.end);
      if (b.finding.status === 'issue') {
        phase('trim (proving retention)');
        evidence.trim = await attempt(notes, 'the trim', () => trimThroughAgent(session, { gc: false, settleMs: 300 }));
      }
    } else if (!opts.trim) {
      notes.push('no trim proof: turned off for this run');
    }
  } finally {
    evidence.ended_at = Date.now();
    if (evidence.samples.length === 0) {
      try {
        evidence.samples = [sampleMemory(pid)];
      } catch {
        // The target is gone; the notes say so below.
      }
    }
    await session.close();
  }
  if (written) {
    // Here, not in the target: the dump's dominator tree, for the objects on the referrer chains.
    phase('sizing the holders in the heap dump');
    const dump = written.file;
    const facts = await attempt(notes, `reading the heap dump ${dump}`, async () =>
      retainedInDump(
        dump,
        evidence.refs.flatMap((r) => r.chains.flatMap((c) => c.hops.map((h) => h.addr))),
      ),
    );
    if (facts) evidence.dump = facts;
  }
  return evidence;
}

async function startTracing(session: OpenedSession, notes: string[]): Promise<TracemallocEvidence> {
  const r = await attempt(notes, 'starting tracemalloc', () => session.call<{ available: boolean; started: boolean; already: boolean; nframe?: number }>('tracing.start', { nframe: 1 }));
  if (!r) return { skipped: 'tracemalloc could not be started' };
  if (!r.available) return { skipped: 'tracemalloc is not in this Python (2.7)' };
  return { already_tracing: r.already, nframe: r.nframe };
}
