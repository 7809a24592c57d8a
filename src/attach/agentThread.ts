/**
 * The agent's thread as memwhy sees it in /proc: memwhy returns only once it
 * has ended, so a command leaves the target with the threads it had.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parseStatus } from '../target/proc.js';

/**
 * The thread the target's pid namespace numbers `nsTid` (what the agent read
 * from /proc/thread-self), numbered as memwhy's namespace does: the last
 * NSpid entry of a task is its id in the innermost namespace. Undefined when
 * no task of `pid` has that id.
 */
export function localThreadId(pid: number, nsTid: number): number | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const t of tasks) {
    try {
      const nspid = parseStatus(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8')).nspid;
      if ((nspid.length > 0 ? nspid[nspid.length - 1] : Number(t)) === nsTid) return Number(t);
    } catch {
      // the task ended while we looked
    }
  }
  return undefined;
}

/** Resolves true once task `tid` of `pid` is gone (or the process is), false after `timeoutMs`. */
export async function threadEnded(pid: number, tid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!existsSync(`/proc/${pid}/task/${tid}`)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
}
