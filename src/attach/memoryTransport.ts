/**
 * Runs the bootstrap through the interpreter's own pending-call queue,
 * written through /proc/PID/mem: no gdb, no ptrace attach, the process
 * stopped only for the writes (well under a millisecond of work).
 *
 * 1. SIGSTOP the process (every thread) under the stacks pause's watchdog,
 *    so a memwhy killed half-way never leaves it stopped;
 * 2. check the queue is free (lock, busy/handling_thread/finishing clear,
 *    room in the ring);
 * 3. write a one-line program for PyRun_SimpleString into zero slack at the
 *    end of a writable segment of the interpreter's ELF, then the entry
 *    {PyRun_SimpleString, that line}, the index, the count and the eval
 *    breaker, in that order; SIGCONT;
 * 4. the interpreter runs the call between two bytecodes on a thread
 *    holding the GIL (the main thread up to 3.11; any thread from 3.12):
 *    the line reads the bootstrap from memwhy's private directory and runs
 *    it, which only starts the agent's thread;
 * 5. the slack is zeroed once the agent has connected (settle()).
 *
 * A call that has not run by the deadline (an idle main thread) is taken
 * back (stop, check, remove, continue) before memwhy falls back to gdb or
 * says the target is idle.
 */
import { chownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { LiveMemory } from '../memory/live.js';
import { MemoryWriter } from '../memory/writer.js';
import { withProcessStopped } from '../memory/pause.js';
import { enqueue, queueState, stillQueued, withdraw, QueueNotFound, type PendingQueue } from '../cpython/pendingQueue.js';
import { pendingCallsLayoutFor } from '../cpython/pendingCalls.js';
import { findTargetQueue, type TargetQueue } from '../cpython/targetQueue.js';
import { ElfFile, PT_LOAD } from '../target/elf.js';
import { isSameProcess, processAlive } from '../target/proc.js';
import type { PythonTarget } from '../target/python.js';
import type { InjectOptions, InjectResult, Transport } from './transport.js';

const PF_W = 2; // elf.h: a writable segment
const PAGE = 4096n;

/** How often the queue is looked at while waiting for the call to run. */
const POLL_MS = 2;
/** How many times to stop the target and look again while the queue is busy, and the pause between. */
const BUSY_TRIES = 50;
const BUSY_PAUSE_MS = 5;

/** What the transport needs from the target, found once before anything is done to it. */
interface Plan {
  queue: PendingQueue;
  runString: bigint;
  harmless: bigint;
  /** Candidate slack regions: [start, length]. */
  slack: [bigint, number][];
}

/** The reason the memory transport cannot be used on a target, or undefined when it can. */
export class MemoryTransportUnavailable extends UserError {}

export class MemoryTransport implements Transport {
  private written?: { address: bigint; bytes: Buffer };

  constructor(
    /** Wait this long for the queued call before giving up (seconds); the caller's timeout when undefined. */
    private readonly queuedWaitS?: number,
  ) {}

  /** Finds everything needed, without touching the target; throws MemoryTransportUnavailable with the reason. */
  static plan(target: PythonTarget): Plan {
    if (!isSameProcess(target.pid, target.startTicks)) {
      throw new UserError(`pid ${target.pid} is no longer the Python process memwhy examined (it exited and the pid was reused): nothing was done to it`);
    }
    if (!pendingCallsLayoutFor(target.version)) throw new MemoryTransportUnavailable(`memwhy knows no pending-call queue layout for CPython ${target.version.text}`);
    let elf: ElfFile;
    try {
      elf = ElfFile.open(target.interpreterElf);
    } catch (err) {
      throw new MemoryTransportUnavailable(`cannot read the interpreter ${target.interpreterElf}: ${(err as Error).message}`);
    }
    const memory = LiveMemory.open(target.pid);
    try {
      let found: TargetQueue;
      try {
        found = findTargetQueue(target, elf, memory);
      } catch (err) {
        if (err instanceof QueueNotFound) throw new MemoryTransportUnavailable(`cannot find the pending-call queue in ${target.interpreterElf}: ${err.message}`);
        throw err;
      }
      const { queue, at, bias } = found;
      const runString = at('PyRun_SimpleString');
      const harmless = at('PyCallable_Check');
      if (runString === undefined || harmless === undefined) {
        throw new MemoryTransportUnavailable(`${target.interpreterElf} does not export PyRun_SimpleString and PyCallable_Check`);
      }
      const slack: [bigint, number][] = [];
      for (const seg of elf.segments()) {
        if (seg.type !== PT_LOAD || (seg.flags & PF_W) === 0) continue;
        const end = seg.vaddr + seg.memsz + bias;
        const pageEnd = (end + PAGE - 1n) & ~(PAGE - 1n);
        if (pageEnd > end) slack.push([end, Number(pageEnd - end)]);
      }
      return { queue, runString, harmless, slack };
    } finally {
      memory.close();
      elf.close();
    }
  }

  async inject(target: PythonTarget, bootstrap: string, opts: InjectOptions): Promise<InjectResult> {
    const pid = target.pid;
    const plan = MemoryTransport.plan(target);
    if (!opts.privateDir) throw new Error('the memory transport needs the private directory for its bootstrap file');
    // The bootstrap is a few KiB, more than the slack holds: it goes in a
    // file of memwhy's private directory (only the target's user can read
    // it), and the slack gets the one line that runs it.
    const file = join(opts.privateDir.localDir, 'b');
    writeFileSync(file, bootstrap, { mode: 0o600 });
    if (process.getuid?.() === 0 && opts.privateDir.uid !== 0) chownSync(file, opts.privateDir.uid, opts.privateDir.gid);
    const line = Buffer.from(runnerLine(join(opts.privateDir.targetDir, 'b'), target.version.major) + '\0', 'utf8');
    const slot = plan.slack.find(([, size]) => size >= line.length);
    if (!slot) throw new MemoryTransportUnavailable(`no room for memwhy's ${line.length}-byte line in ${target.interpreterElf}'s writable segments`);

    const memory = LiveMemory.open(pid);
    let writer: MemoryWriter;
    try {
      writer = MemoryWriter.open(pid);
    } catch (err) {
      memory.close();
      throw err;
    }
    try {
      const queuedAt = performance.now();
      let stoppedMs = 0;
      let index: number | undefined;
      let lastBusy = '';
      for (let attempt = 0; index === undefined; attempt++) {
        if (opts.signal?.aborted) throw interrupted(pid, opts.signal, 'nothing was queued');
        const paused = withProcessStopped(
          pid,
          () => {
            if (!everyThreadHeld(pid)) return { kind: 'busy' as const, why: 'a thread had not stopped' };
            const state = queueState(memory, plan.queue);
            if (state.kind !== 'free') return state;
            const before = memory.read(slot[0], slot[1]);
            const stale = staleLineLength(before, plan, memory, slot[0]);
            if (stale === undefined) return { kind: 'slack-used' as const };
            // Our line, then zeros over whatever is left of a killed memwhy's longer one.
            const bytes = Buffer.alloc(Math.max(line.length, stale));
            line.copy(bytes);
            writer.write(slot[0], bytes);
            this.written = { address: slot[0], bytes: line };
            return { kind: 'queued' as const, index: enqueue(memory, writer, plan.queue, state, plan.runString, slot[0]) };
          },
          { stopTimeoutMs: 1000, watchdogSeconds: 5, startTicks: target.startTicks },
        );
        stoppedMs += paused.pauseMs;
        const r = paused.value;
        if (r.kind === 'queued') {
          index = r.index;
          this.queuedIndex = r.index;
        } else if (r.kind === 'full') {
          throw new UserError(`pid ${pid}'s pending-call queue is full (its program queues calls faster than they run); nothing was done to it`);
        } else if (r.kind === 'finishing') {
          throw new UserError(`pid ${pid}'s interpreter is shutting down; nothing was done to it`);
        } else if (r.kind === 'slack-used') {
          throw new MemoryTransportUnavailable(`the spare bytes after ${target.interpreterElf}'s data are in use in pid ${pid}`);
        } else {
          lastBusy = r.why;
          if (attempt + 1 >= BUSY_TRIES) {
            throw new UserError(`pid ${pid}'s pending-call queue stayed busy (${lastBusy}) for ${BUSY_TRIES} tries; nothing was queued, the target runs on`);
          }
          await sleep(BUSY_PAUSE_MS);
        }
      }

      opts.onProgress?.(
        plan.queue.layout.runsOn === 'main-thread'
          ? "queued memwhy's bootstrap: it runs when the main thread next runs Python code..."
          : "queued memwhy's bootstrap: it runs when a thread next runs Python code...",
      );
      const waitS = this.queuedWaitS ?? opts.safePointTimeoutS;
      const deadline = performance.now() + waitS * 1000;
      for (;;) {
        let queued: boolean;
        try {
          queued = stillQueued(memory, plan.queue, index);
        } catch (err) {
          if (!processAlive(pid)) throw new UserError(`the target (pid ${pid}) exited while memwhy was attaching`);
          throw err;
        }
        if (!queued) break;
        const aborted = opts.signal?.aborted === true;
        if (aborted || performance.now() > deadline) {
          const outcome = this.takeBack(pid, target, memory, writer, plan, index);
          stoppedMs += outcome.pauseMs;
          if (outcome.result !== 'already-ran') {
            this.clearSlack(pid);
            const what = outcome.result === 'removed' ? 'memwhy took its queued call back' : 'memwhy made its queued call a no-op';
            if (aborted) throw interrupted(pid, opts.signal!, what);
            throw new TargetIdle(pid, plan.queue.layout.runsOn, waitS, what);
          }
          break;
        }
        await sleep(POLL_MS);
      }
      const safePointMs = performance.now() - queuedAt;
      return { transport: 'memory', safePoint: 'queued-call', safePointMs, stoppedMs };
    } catch (err) {
      // Nothing queued (or taken back): the line in the slack serves nobody.
      if (!(err instanceof TargetIdle)) this.clearSlackIfUnqueued(pid);
      throw err;
    } finally {
      writer.close();
      memory.close();
    }
  }

  /** Zeroes the slack once the agent has connected (the line has been read) or the attach has failed. */
  settle(pid: number): void {
    this.clearSlack(pid);
  }

  private queuedIndex?: number;

  private takeBack(pid: number, target: PythonTarget, memory: LiveMemory, writer: MemoryWriter, plan: Plan, index: number) {
    const paused = withProcessStopped(pid, () => withdraw(memory, writer, plan.queue, index, plan.harmless), {
      stopTimeoutMs: 1000,
      watchdogSeconds: 5,
      startTicks: target.startTicks,
    });
    return { result: paused.value, pauseMs: paused.pauseMs };
  }

  private clearSlackIfUnqueued(pid: number): void {
    if (this.queuedIndex === undefined) this.clearSlack(pid);
  }

  /** Zeroes memwhy's line in the slack, if it is still there unchanged (never someone else's bytes). */
  private clearSlack(pid: number): void {
    const w = this.written;
    if (!w) return;
    this.written = undefined;
    let memory: LiveMemory | undefined;
    let writer: MemoryWriter | undefined;
    try {
      memory = LiveMemory.open(pid);
      if (!memory.read(w.address, w.bytes.length).equals(w.bytes)) return;
      writer = MemoryWriter.open(pid);
      writer.write(w.address, Buffer.alloc(w.bytes.length));
    } catch {
      // The target exited: nothing left to clean.
    } finally {
      writer?.close();
      memory?.close();
    }
  }
}

/** The call did not run in time: the main thread (or every thread) runs no Python code. */
export class TargetIdle extends UserError {
  constructor(
    readonly pid: number,
    readonly runsOn: 'main-thread' | 'any-thread',
    readonly waitedS: number,
    readonly what: string,
  ) {
    super(
      `pid ${pid} is idle: ${runsOn === 'main-thread' ? 'its main thread ran' : 'none of its threads ran'} no Python code in ${waitedS} s ` +
        `(blocked in a long call: epoll, join, sleep); ${what} and left it running. ` +
        'Install gdb (memwhy then wakes the main thread from its blocking call)',
    );
  }
}

/**
 * The line PyRun_SimpleString runs in __main__: it must never raise (a
 * pending call that fails makes the interrupted frame take its error path)
 * and binds no name there. 2.7's exec is a statement, not allowed in a lambda.
 */
export function runnerLine(path: string, major: number): string {
  const p = JSON.stringify(path); // also a valid Python string literal for a path
  if (major === 2) {
    return `try:exec open(${p},'rb').read() in {'__name__':'__memwhy_boot__'}\nexcept BaseException:pass\n`;
  }
  return `try:(lambda f:(exec(f.read(),{'__name__':'__memwhy_boot__'}),f.close()))(open(${p},'rb'))\nexcept BaseException:pass\n`;
}

/** How every line this transport writes starts (runnerLine), to know a killed memwhy's leftover. */
const LINE_PREFIXES = ['try:(lambda f:(exec(', 'try:exec open('];

/**
 * 0 when the slack is all zeros; the length of the line a killed memwhy left
 * there (it never got to zero it) when no queued call still points at it;
 * undefined when the bytes are someone else's or still in use.
 */
function staleLineLength(bytes: Buffer, plan: Plan, memory: LiveMemory, address: bigint): number | undefined {
  if (bytes.every((b) => b === 0)) return 0;
  const end = bytes.indexOf(0);
  if (end < 0) return undefined;
  const text = bytes.subarray(0, end).toString('latin1');
  if (!LINE_PREFIXES.some((p) => text.startsWith(p)) || !bytes.subarray(end).every((b) => b === 0)) return undefined;
  const q = plan.queue;
  const cap = q.layout.capacity;
  const first = memory.readI32(q.first);
  const last = memory.readI32(q.last);
  for (let i = first; i !== last; i = (i + 1) % cap) {
    if (memory.readPtr(q.calls + BigInt(i * q.layout.entrySize) + 8n) === address) return undefined;
  }
  return end + 1;
}

/** Every thread stopped, or in uninterruptible sleep (it stops before it next runs user code). */
function everyThreadHeld(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tids.every((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
      return /^[TtDZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
    } catch {
      return true; // the thread exited
    }
  });
}

function interrupted(pid: number, signal: AbortSignal, what: string): UserError {
  const code = signal.reason === 'SIGTERM' ? 143 : 130;
  return new UserError(`interrupted; ${what}; pid ${pid} was left running`, code);
}
