/**
 * A live process's tasks (threads) as the stacks readers need them: name,
 * run state, time on the CPU and the system call each is in, from /proc
 * (target/proc.ts reads the files). Shared by the memory reader
 * (liveStacks.ts) and the agent path (agentStacks.ts).
 */
import { syscallName } from './native.js';
import type { ThreadRunState } from './stackTypes.js';
import { readTaskCpuMs, readTaskIds, readTaskName, readTaskStat, readTaskSyscall } from '../target/proc.js';

export interface Task {
  tid: number;
  name: string;
  state: ThreadRunState;
  /** Time on the CPU so far, in ms; null when the kernel does not say. */
  cpuMs: number | null;
}

/** Every task (thread) of `pid` with its name, run state and time on the CPU. */
export function readTasks(pid: number): Task[] {
  const tasks: Task[] = [];
  for (const tid of readTaskIds(pid)) {
    const stat = readTaskStat(pid, tid);
    const name = readTaskName(pid, tid);
    // Either undefined: the thread exited since the listing.
    if (stat && name !== undefined) tasks.push({ tid, name, state: runState(stat.state), cpuMs: readTaskCpuMs(pid, tid, stat) });
  }
  return tasks;
}

/** Each task's system call, read inside the pause: cheap (one small /proc file per thread). */
export function readSyscalls(pid: number, tasks: readonly { tid: number }[]): Map<number, string | null> {
  const out = new Map<number, string | null>();
  for (const { tid } of tasks) {
    const line = readTaskSyscall(pid, tid);
    // Exited, or not allowed: no system call to show.
    out.set(tid, line === undefined ? null : syscallName(line));
  }
  return out;
}

/** proc(5) states: R running, S sleeping, D disk sleep, I idle kernel thread, T/t stopped. */
function runState(code: string): ThreadRunState {
  if (code === 'R') return 'running';
  if (code === 'S' || code === 'D' || code === 'I') return 'idle';
  if (code === 'T' || code === 't') return 'stopped';
  return 'unknown';
}
