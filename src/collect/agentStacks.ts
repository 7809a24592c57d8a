/**
 * Stacks through the agent: sys._current_frames() run inside the target
 * (src/agent/frames.py). The fallback for versions memwhy cannot read from
 * memory (no layout, free-threaded builds) and `memwhy stacks --via agent`,
 * which also gives the threading names. The target is not paused, but the
 * agent holds the GIL while it looks, so the Python frames are consistent.
 */
import { performance } from 'node:perf_hooks';
import type { AgentSession } from '../attach/session.js';
import { LiveMemory } from '../memory/live.js';
import { pthreadTidOffset, tidOfPthread } from '../cpython/pthread.js';
import { readMaps, targetRootPath } from '../target/proc.js';
import { describePython } from '../target/python.js';
import { readSyscalls, readTasks } from './tasks.js';
import type { StacksEvidence, ThreadStack } from './stackTypes.js';
import { round3 } from '../util/units.js';

/** What frames.collect returns. */
interface AgentFrames {
  threads: {
    /** threading.get_ident(): pthread_self() on Linux. */
    ident: number;
    name: string | null;
    /** threading's native_id (3.8+), the kernel tid. */
    native_id: number | null;
    /** [function, file, line], innermost first. */
    frames: [string, string, number | null][];
  }[];
}

export class AgentStacks {
  private constructor(
    private readonly session: AgentSession,
    readonly pid: number,
    private readonly version: string,
    private readonly tidOffset: number,
  ) {}

  static forSession(session: AgentSession, pid: number): AgentStacks {
    const target = describePython(pid);
    return new AgentStacks(
      session,
      pid,
      target.version.text,
      pthreadTidOffset(readMaps(pid), (p) => targetRootPath(pid, p)),
    );
  }

  async read(warnings: string[] = []): Promise<StacksEvidence> {
    const tasks = readTasks(this.pid);
    const syscalls = readSyscalls(this.pid, tasks);
    const started = performance.now();
    const result = await this.session.call<AgentFrames>('frames.collect', {});
    const readMs = performance.now() - started;
    const byTid = new Map(tasks.map((t) => [t.tid, t]));
    const tids = this.kernelTids(result.threads, new Set(byTid.keys()));
    const threads = result.threads.map((t, i): ThreadStack => {
      const tid = tids[i]!;
      const task = tid === null ? undefined : byTid.get(tid);
      return {
        tid,
        name: task?.name ?? null,
        ...(t.name === null ? {} : { thread_name: t.name }),
        holds_gil: null,
        state: task?.state ?? 'unknown',
        cpu_ms: task?.cpuMs ?? null,
        syscall: tid === null ? null : (syscalls.get(tid) ?? null),
        frames: t.frames.map(([fn, file, line]) => ({ function: fn, file, line })),
      };
    });
    return {
      pid: this.pid,
      version: this.version,
      source: 'agent',
      native: false,
      pause_ms: 0,
      read_ms: round3(readMs),
      warnings,
      threads: threads.sort((a, b) => (a.tid ?? Infinity) - (b.tid ?? Infinity)),
    };
  }

  /**
   * Each thread's kernel tid: threading's native_id, else (2.7-3.7, threads
   * threading does not know) from glibc's struct pthread that the ident
   * points to, read from the target's memory.
   */
  private kernelTids(threads: AgentFrames['threads'], known: ReadonlySet<number>): (number | null)[] {
    if (threads.every((t) => t.native_id !== null)) return threads.map((t) => t.native_id);
    let memory: LiveMemory | undefined;
    try {
      memory = LiveMemory.open(this.pid);
    } catch {
      return threads.map((t) => t.native_id);
    }
    try {
      return threads.map((t) => t.native_id ?? tidOfPthread(memory, BigInt(t.ident), this.tidOffset, known) ?? null);
    } finally {
      memory.close();
    }
  }
}
