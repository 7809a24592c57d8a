/** Small /proc views for asserting that a target was left as it was. */
import { readdirSync, readFileSync } from 'node:fs';

export function threadCount(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** 'R', 'S', 't' (traced/stopped), 'T' (stopped), 'Z'... */
export function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

export function tracerPid(pid: number): number {
  const m = /TracerPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : -1;
}

/** memwhy's private directories still present under a target's /tmp (memwhy-PID.PIDNS-XXXXXX). */
export function agentDirs(pid: number): string[] {
  return readdirSync(`/proc/${pid}/root/tmp`).filter((n) => /^memwhy-(\d+\.\d+-)?[A-Za-z0-9]{6}$/.test(n));
}

/** memwhy's lock files still present under a target's /tmp. */
export function lockFiles(pid: number): string[] {
  return readdirSync(`/proc/${pid}/root/tmp`).filter((n) => /^\.memwhy-\d+\.lock$/.test(n));
}
