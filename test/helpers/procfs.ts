/** Small /proc views for asserting that a target was left as it was. */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { parseStat } from '../../src/target/proc.js';

export function threadCount(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** 'R', 'S', 't' (traced/stopped), 'T' (stopped), 'Z'... */
/** utime + stime of the process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold ') '.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

export function processState(pid: number): string {
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1')).state;
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
/**
 * memwhy's lock files in the target's /tmp: only the one for `pid` unless
 * `all` (a /tmp shared with other tests running at the same time holds
 * theirs too: counting those made a test fail under a parallel run).
 */
export function lockFiles(pid: number, all = false): string[] {
  return readdirSync(`/proc/${pid}/root/tmp`).filter((n) => (all ? /^\.memwhy-\d+\.lock$/.test(n) : n === `.memwhy-${pid}.lock`));
}

/**
 * How many times `needle` occurs in the process's writable memory (its heap
 * and anonymous mappings), read through /proc/PID/mem.
 */
export function countInMemory(pid: number, needle: string): number {
  const pattern = Buffer.from(needle, 'utf8');
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  let found = 0;
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
      if (!m || line.includes('[vvar]')) continue;
      const start = parseInt(m[1]!, 16);
      const buf = Buffer.alloc(parseInt(m[2]!, 16) - start);
      try {
        readSync(fd, buf, 0, buf.length, start);
      } catch {
        continue; // a mapping that cannot be read (guard pages)
      }
      for (let i = buf.indexOf(pattern); i >= 0; i = buf.indexOf(pattern, i + 1)) found++;
    }
  } finally {
    closeSync(fd);
  }
  return found;
}
