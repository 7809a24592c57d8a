/**
 * Never harm the target: hundreds of sequential attaches to a program that
 * makes attaching hard (eight threads churning Python objects and C malloc,
 * a ninth holding the GIL in long C calls), rotating through what memwhy
 * does to a live process. Afterwards the program must be alive, untraced,
 * still working on every thread, with as many threads and fds as before,
 * nothing of memwhy's left in its /tmp and its RSS where it was.
 *
 * Most attaches run the engine in-process, calling what each command calls
 * (a CLI run costs ~0.3 s of Node start-up each); one rotation goes through
 * the real CLI on Debian's python3, one command on each other interpreter.
 * Counts: MEMWHY_TORTURE_ATTACHES (default 100) on Debian's python3, at
 * most OTHER_ATTACHES on each other interpreter, each after a warm-up of
 * one of every operation. The figures are printed for RELIABILITY.md.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { withAgent } from '../../src/attach/agentSession.js';
import { collectCensus } from '../../src/collect/census.js';
import { collectMalloc, trimThroughAgent } from '../../src/collect/malloc.js';
import { breakdownMalloc } from '../../src/analyze/malloc.js';
import { AgentStacks } from '../../src/collect/agentStacks.js';
import { LiveStacks } from '../../src/collect/liveStacks.js';
import { UserError } from '../../src/errors.js';
import type { RunResult } from '../../src/commands/exec.js';
import { interpreters } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import { agentDirs, countInMemory, fdCount, processState, threadCount, tracerPid } from '../helpers/procfs.js';

/** The main interpreter: Debian's python3 when present, else the newest found. */
const MAIN_PYTHON = (interpreters().find((p) => p.label.startsWith('debian')) ?? interpreters()[interpreters().length - 1]!).path;
/** How every bootstrap line starts (src/attach/gdbTransport.ts bootstrapLine). */
const BOOTSTRAP_PREFIX = "exec(__import__('binascii').unhexlify('";
/**
 * An attach to this target takes 0.8-1.4 s on average here at load 3-4 and
 * 2.6 s at load 13-21 (2 cores; gdb's part is most of it), so the issue's
 * 200 take 4.5-9 minutes on their own: the default is 100 (the whole file
 * then took 6 minutes at load 3-4); MEMWHY_TORTURE_ATTACHES=200 runs the
 * issue's count.
 */
const envCount = process.env.MEMWHY_TORTURE_ATTACHES;
const MAIN_ATTACHES = envCount === undefined ? 100 : Number(envCount);
if (!Number.isInteger(MAIN_ATTACHES) || MAIN_ATTACHES < 1) {
  throw new Error(`MEMWHY_TORTURE_ATTACHES must be a whole number of attaches, not "${envCount}"`);
}
/** Each other interpreter: one rotation after the warm-up, fewer if MEMWHY_TORTURE_ATTACHES asks for fewer. */
const OTHER_ATTACHES = Math.min(6, MAIN_ATTACHES);

/** The target: main thread, 8 churners, 1 GIL hog (test/fixtures/torture_target.py). */
const WORKERS = 9;
const TARGET_THREADS = 1 + WORKERS;

/**
 * Attaches that may fail with "did not reach a safe point" before the test
 * fails. None did in the runs that set this (300+ attaches, see the printed
 * figures), so a failure to attach is a regression, not noise.
 */
const ALLOWED_NO_SAFE_POINT = 0;

/**
 * RSS: growth from after the warm-up to after the last attach may be 64 KiB
 * per attach plus 2 MiB for the allocators settling (12-attach runs grew
 * 0.6-0.8 MiB; 200 attaches on Debian 3.11 grew 3.3 MiB, 16.6 KiB/attach).
 * On the long run the slope of RSS over the attaches must stay under 32 KiB
 * per attach (measured 11 KiB: gdb leaves each attach's 3.5 KiB bootstrap
 * string in the target's heap, see the report). A leak of 64 KiB per attach
 * fails both.
 */
const RSS_BYTES_PER_ATTACH = 64 * 1024;
const RSS_SETTLING_BYTES = 2 * 1024 * 1024;
const RSS_SLOPE_BYTES = 32 * 1024;
/** Fewer attaches than this give no slope worth asserting on. */
const SLOPE_MIN_ATTACHES = 60;

type Op = 'exec' | 'heap' | 'malloc' | 'trim' | 'stacks --via agent' | 'stacks';
const OPS: readonly Op[] = ['exec', 'heap', 'malloc', 'trim', 'stacks --via agent', 'stacks'];

/** The transport every attach uses: MEMWHY_TEST_TRANSPORT (memory, gdb, or auto: memwhy's default). */
const TRANSPORT = (process.env.MEMWHY_TEST_TRANSPORT ?? 'auto') as 'auto' | 'memory' | 'gdb';
/** How the memory transport's line for PyRun_SimpleString starts (src/attach/memoryTransport.ts runnerLine). */
const RUNNER_PREFIX = "try:(lambda f:(exec(f.read(),{'__name__':'__memwhy_boot__'})";

const ATTACH = { safePointTimeoutS: 10, lockWaitS: 10, transport: TRANSPORT };

/**
 * The program's threads, plus at most one: the previous session's agent
 * thread may still be on its way out (it ends just after the session closes).
 */
function assertThreadsSeen(n: number): void {
  assert.ok(n === TARGET_THREADS || n === TARGET_THREADS + 1, `${n} Python threads seen, the program has ${TARGET_THREADS}`);
}

/** One operation, in-process, calling what src/commands/<op>.ts calls; checks the answer is real. */
async function runOp(op: Op, pid: number): Promise<void> {
  switch (op) {
    case 'exec': {
      const r = await withAgent(
        pid,
        (s) => s.call<RunResult>('repl.run', { source: 'import __main__\nprint(__main__.CHURNERS * len(__main__.C_SIZES))', filename: '<memwhy exec>' }),
        ATTACH,
      );
      assert.equal(r.exception, null, r.exception?.traceback);
      assert.equal(r.stdout, '40\n');
      return;
    }
    case 'heap': {
      const census = await withAgent(pid, (s) => collectCensus(s, { top: 25 }), ATTACH);
      assert.ok(census.total.count > 1000, `census counted ${census.total.count} objects`);
      assert.ok(census.types.some((t) => t.type === 'dict'));
      return;
    }
    case 'malloc': {
      const evidence = await withAgent(pid, (s) => collectMalloc(s), ATTACH);
      const breakdown = breakdownMalloc(evidence);
      assert.equal(evidence.allocator.name, 'glibc');
      assert.ok(evidence.allocator.glibc?.mallinfo, 'mallinfo read');
      assert.ok(breakdown);
      return;
    }
    case 'trim': {
      const t = await withAgent(pid, (s) => trimThroughAgent(s, { gc: false, settleMs: 0 }), ATTACH);
      assert.equal(t.agent.call, 'malloc_trim(0)');
      return;
    }
    case 'stacks --via agent': {
      const ev = await withAgent(pid, (s) => AgentStacks.forSession(s, pid).read(), ATTACH);
      assertThreadsSeen(ev.threads.length);
      return;
    }
    case 'stacks': {
      // The default reader: no attach, the target stopped (SIGSTOP) while its memory is read.
      const reader = LiveStacks.open(pid);
      try {
        const ev = reader.read({ nonblocking: false });
        assertThreadsSeen(ev.threads.filter((t) => t.frames.length > 0).length);
      } finally {
        reader.close();
      }
      return;
    }
  }
}

/** The same operations through the real CLI. */
const CLI_ARGS: Record<Op, (pid: string) => string[]> = {
  exec: (pid) => ['exec', pid, '-c', 'import __main__\nprint(__main__.CHURNERS * len(__main__.C_SIZES))'],
  heap: (pid) => ['heap', pid, '--json'],
  malloc: (pid) => ['malloc', pid, '--json'],
  trim: (pid) => ['trim', pid, '--json', '--settle', '0s'],
  'stacks --via agent': (pid) => ['stacks', pid, '--via', 'agent', '--json'],
  stacks: (pid) => ['stacks', pid, '--json'],
};

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS in /proc/PID/status');
  return Number(m[1]) * 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of ten readings 100 ms apart: the churners' own RSS moves by a few pages. */
async function steadyRss(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 10; i++) {
    xs.push(rssBytes(pid));
    await sleep(100);
  }
  xs.sort((a, b) => a - b);
  return xs[5]!;
}

/** Least-squares slope of y over x. */
function slope(ys: readonly number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

/** Each worker's latest "count I N" line on the target's stdout (-1 until it has reported). */
function workCounts(target: Target): number[] {
  const counts = new Array<number>(WORKERS).fill(-1);
  for (const m of target.stdout().matchAll(/^count (\d) (\d+)$/gm)) counts[Number(m[1])] = Number(m[2]);
  return counts;
}

/** Waits until every worker has counted past `than` (all -1: has reported at all). */
async function countsPast(target: Target, than: readonly number[], withinMs: number): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const now = workCounts(target);
    if (now.every((c, i) => c > than[i]!)) return now;
    if (Date.now() > deadline) {
      const stuck = now.flatMap((c, i) => (c > than[i]! ? [] : [`${i === WORKERS - 1 ? 'gil-hog' : `churn-${i}`} at ${c}`]));
      assert.fail(`workers stopped counting: ${stuck.join(', ')}`);
    }
    await sleep(50);
  }
}

/** Every entry under the target's /tmp (its own tmpfs), with world-writable ones marked. */
function tmpEntries(pid: number): { names: string[]; worldWritable: string[] } {
  const root = `/proc/${pid}/root/tmp`;
  const names: string[] = [];
  const worldWritable: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      names.push(path);
      if (!st.isSymbolicLink() && (st.mode & 0o002) !== 0) worldWritable.push(path);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return { names: names.sort(), worldWritable };
}

/** Threads and fds settle once the last agent thread has ended; wait for it. */
async function settleTo(pid: number, threads: number, fds: number, waitMs = 3000): Promise<void> {
  const deadline = Date.now() + waitMs;
  while ((threadCount(pid) !== threads || fdCount(pid) !== fds) && Date.now() < deadline) await sleep(50);
}

const warnings: string[] = [];
process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`));

const figures: string[] = [];
after(() => {
  console.log(`# torture: ${figures.length} interpreters\n${figures.join('\n')}`);
  if (warnings.length > 0) console.log(`# torture: Node warnings during the run:\n${warnings.map((w) => `#   ${w}`).join('\n')}`);
});

/** Listeners on process that memwhy might add per attach (exit, signals): each attach must remove its own. */
function processListeners(): Record<string, number> {
  return Object.fromEntries(['exit', 'SIGINT', 'SIGTERM', 'SIGHUP'].map((e) => [e, process.listenerCount(e)]));
}

interpreters().forEach((py, index) => {
  const main = py.path === MAIN_PYTHON;
  const count = main ? MAIN_ATTACHES : OTHER_ATTACHES;
  // The CLI is the same code whatever the Python: a whole rotation on the main
  // interpreter, one command on each other one (a different one each).
  const cliOps = main ? OPS : [OPS[index % OPS.length]!];
  describe(`the torture target on ${py.label}`, () => {
    // Python 2.7's GIL is not fair and switches by bytecode count: against
    // this target the agent's thread waits tens of seconds for each turn, so
    // 12 attaches took 10 minutes (2 of them gave up, the target unharmed:
    // RELIABILITY.md). Too long for the suite; MEMWHY_TORTURE_27=1 runs it.
    const skip = py.major === 2 && process.env.MEMWHY_TORTURE_27 !== '1' && 'Python 2.7 starves the agent of this target (minutes per run): MEMWHY_TORTURE_27=1 runs it';
    test(`survives ${OPS.length} + ${count} sequential attaches and ${cliOps.length} CLI runs unharmed`, { skip }, async () => {
      const target = await startTarget(py.path, ['torture_target.py'], { privateTmp: true, readyTimeoutMs: 60_000 });
      try {
        const pid = target.pid;
        const tmpBefore = tmpEntries(pid);
        let counts = await countsPast(target, new Array<number>(WORKERS).fill(-1), 20_000);
        const listenersBefore = processListeners();

        // Warm-up: one of each, so the agent's one-time imports (json, socket, ctypes...)
        // are in before RSS is first read; then let the last agent thread end.
        // Python 2.7's GIL is not fair: against eight busy threads and a GIL
        // hog, the agent's new thread can wait minutes for its turns, and
        // memwhy gives up (one line, target untouched). That is counted, not
        // failed, on 2.7; what must hold there is that the target is unharmed.
        const starvable = py.major === 2;
        const starved: string[] = [];
        const attempt = async (op: Op, label: string): Promise<void> => {
          try {
            await runOp(op, pid);
          } catch (err) {
            if (starvable && err instanceof UserError && /did not connect back|did not answer/.test(err.message)) {
              starved.push(`${label} (${op}): ${err.message}`);
              return;
            }
            throw err;
          }
        };
        for (const op of OPS) await attempt(op, 'warm-up');
        await sleep(1000);
        // A starved agent thread ends once it gets the GIL and finds memwhy gone.
        if (starved.length > 0) await settleTo(pid, TARGET_THREADS, fdCount(pid), 120_000);
        const threads = threadCount(pid);
        const fds = fdCount(pid);
        assert.equal(threads, TARGET_THREADS, 'no agent thread outlived its session');
        const rssBefore = await steadyRss(pid);

        const perOp = new Map<Op, { n: number; ms: number }>(OPS.map((op) => [op, { n: 0, ms: 0 }]));
        const rssAfterEach: number[] = [];
        const noSafePoint: string[] = [];
        for (let i = 0; i < count; i++) {
          const op = OPS[i % OPS.length]!;
          const started = performance.now();
          try {
            await attempt(op, `attach ${i}`);
          } catch (err) {
            if (err instanceof UserError && /did not reach a safe point/.test(err.message)) {
              noSafePoint.push(`attach ${i} (${op}): ${err.message}`);
            } else {
              throw new Error(`attach ${i} (${op}) failed: ${(err as Error).message}`, { cause: err });
            }
          }
          const s = perOp.get(op)!;
          s.n++;
          s.ms += performance.now() - started;
          assert.equal(tracerPid(pid), 0, `attach ${i} (${op}) left the target traced`);
          assert.doesNotMatch(processState(pid), /[tTZ]/, `attach ${i} (${op}) left the target stopped`);
          rssAfterEach.push(rssBytes(pid));
          // Every rotation: each of the nine workers (the GIL hog too) has counted on.
          if ((i + 1) % OPS.length === 0) counts = await countsPast(target, counts, 5_000);
        }
        assert.ok(noSafePoint.length <= ALLOWED_NO_SAFE_POINT, `attaches without a safe point:\n${noSafePoint.join('\n')}`);
        if (starved.length > 0) await settleTo(pid, threads, fds, 120_000);
        // (The stacks reader holds SIGINT/SIGTERM/SIGHUP during its pause, until the event loop next turns.)
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(processListeners(), listenersBefore, 'the attaches left no listener on process behind');

        await sleep(1000);
        const rssAfter = await steadyRss(pid);

        // The CLI path, through bin/memwhy.
        const cliMs: number[] = [];
        for (const op of cliOps) {
          const started = performance.now();
          const r = await memwhy([...CLI_ARGS[op](String(pid)), ...(op === 'stacks' ? [] : ['--transport', TRANSPORT])], { timeoutMs: 60_000 });
          cliMs.push(performance.now() - started);
          if (starvable && r.code !== 0 && /did not connect back|did not answer/.test(r.stderr)) {
            starved.push(`CLI (${op}): ${r.stderr.trim()}`);
            assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
            continue;
          }
          assert.equal(r.code, 0, `memwhy ${op}: ${r.stderr}`);
          if (op === 'exec') assert.equal(r.stdout, '40\n');
          else JSON.parse(r.stdout);
          assert.equal(tracerPid(pid), 0, `memwhy ${op} left the target traced`);
        }
        counts = await countsPast(target, counts, 5_000);

        await settleTo(pid, threads, fds, starved.length > 0 ? 120_000 : 3000);
        assert.ok(target.alive(), 'the target is alive');
        assert.equal(tracerPid(pid), 0, 'not traced');
        assert.equal(threadCount(pid), threads, 'thread count back to baseline');
        assert.equal(fdCount(pid), fds, 'fd count back to baseline');
        assert.deepEqual(agentDirs(pid), [], 'no agent directory left');
        const tmpAfter = tmpEntries(pid);
        assert.deepEqual(tmpAfter.names, tmpBefore.names, "nothing of memwhy's left in the target's /tmp");
        assert.deepEqual(tmpAfter.worldWritable, [], 'no world-writable file in /tmp');
        assert.equal(target.stderr(), '', "nothing written to the target's stderr");
        // The bootstrap travels through a buffer memwhy frees (gdb's own copy of a string literal was never freed).
        assert.equal(countInMemory(pid, BOOTSTRAP_PREFIX), 0, "no bootstrap left in the target's memory");
        // The memory transport zeroes its line once the agent has connected.
        assert.equal(countInMemory(pid, RUNNER_PREFIX), 0, "no bootstrap line left in the target's memory");

        const growth = rssAfter - rssBefore;
        const perAttach = slope(rssAfterEach);
        const mean = (ms: number, n: number): string => (n === 0 ? '-' : `${Math.round(ms / n)} ms`);
        const totalMs = [...perOp.values()].reduce((a, s) => a + s.ms, 0);
        figures.push(
          [
            `# ${py.label} (${py.version}), transport ${TRANSPORT}: ${OPS.length} warm-up + ${count} attaches in-process, ${noSafePoint.length} without a safe point, ${starved.length} gave up waiting for the agent (2.7's GIL); ${cliOps.length} CLI runs (${cliOps.join(', ')})`,
            `#   mean ${mean(totalMs, count)} per attach; ${OPS.map((op) => `${op} ${perOp.get(op)!.n}x ${mean(perOp.get(op)!.ms, perOp.get(op)!.n)}`).join(', ')}; CLI ${mean(
              cliMs.reduce((a, b) => a + b, 0),
              cliMs.length,
            )}`,
            `#   RSS before ${(rssBefore / 2 ** 20).toFixed(1)} MiB, after ${(rssAfter / 2 ** 20).toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${(growth / 1024).toFixed(0)} KiB, ${(growth / count / 1024).toFixed(1)} KiB/attach; slope over attaches ${(perAttach / 1024).toFixed(1)} KiB/attach)`,
            `#   work counts at the end: ${counts.join(' ')} (churn-0..7, gil-hog); threads ${threads}, fds ${fds}`,
          ].join('\n'),
        );
        assert.ok(
          growth <= count * RSS_BYTES_PER_ATTACH + RSS_SETTLING_BYTES,
          `RSS grew ${(growth / 1024).toFixed(0)} KiB over ${count} attaches (bound ${RSS_BYTES_PER_ATTACH / 1024} KiB/attach + ${RSS_SETTLING_BYTES / 2 ** 20} MiB)`,
        );
        if (count >= SLOPE_MIN_ATTACHES) {
          assert.ok(perAttach <= RSS_SLOPE_BYTES, `RSS rose ${(perAttach / 1024).toFixed(1)} KiB per attach (bound ${RSS_SLOPE_BYTES / 1024} KiB)`);
        }
      } finally {
        await target.kill();
      }
    });
  });
});
