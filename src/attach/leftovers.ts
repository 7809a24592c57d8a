/**
 * What a memwhy puts in a target's /tmp (its lock file and its private
 * directory) carries the name of the memwhy that made it: its pid and its
 * pid namespace. A memwhy killed outright (SIGKILL, the OOM killer) cannot
 * remove them, so every memwhy first removes those whose owner is gone.
 * An owner in another pid namespace cannot be checked from here: its
 * leftovers are kept.
 */
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { namespaceOf, processAlive } from '../target/proc.js';

export interface Owner {
  pid: number;
  /** The owner's pid namespace, as the digits of its `pid:[N]` link. */
  pidns: string;
}

export function thisMemwhy(): Owner {
  return { pid: process.pid, pidns: nsDigits(namespaceOf('self', 'pid')) };
}

function nsDigits(link: string | undefined): string {
  return /\[(\d+)\]/.exec(link ?? '')?.[1] ?? '0';
}

/** A private directory's name prefix: `memwhy-PID.PIDNS-`. */
export function privateDirPrefix(owner: Owner = thisMemwhy()): string {
  return `memwhy-${owner.pid}.${owner.pidns}-`;
}

export function parsePrivateDirName(name: string): Owner | undefined {
  const m = /^memwhy-(\d+)\.(\d+)-[A-Za-z0-9]{6}$/.exec(name);
  return m ? { pid: Number(m[1]), pidns: m[2]! } : undefined;
}

/** The lock file's content names its owner the same way. */
export function lockContent(owner: Owner = thisMemwhy()): string {
  return JSON.stringify({ pid: owner.pid, pidns: owner.pidns, since: Date.now() });
}

export function parseLockContent(text: string): Owner | undefined {
  try {
    const v = JSON.parse(text) as { pid?: unknown; pidns?: unknown };
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return undefined;
    return { pid: v.pid, pidns: typeof v.pidns === 'string' ? v.pidns : nsDigits(namespaceOf('self', 'pid')) };
  } catch {
    return undefined;
  }
}

/** True when the owner surely no longer runs: same pid namespace as ours, and its pid is dead or a zombie. */
export function ownerIsGone(owner: Owner): boolean {
  if (owner.pidns !== thisMemwhy().pidns) return false;
  return !processAlive(owner.pid);
}

export function readLockOwner(path: string): Owner | undefined {
  try {
    return parseLockContent(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Removes the directories and lock files in `tmpDir` (a target's /tmp as
 * reached from here) left by memwhys that are gone. Only our own kinds of
 * entry, only real directories and files (never through a symlink), and
 * only those whose owner is known to be gone. Returns what it removed.
 */
export function sweepLeftovers(tmpDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(tmpDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const path = `${tmpDir}/${name}`;
    try {
      if (name.startsWith('memwhy-')) {
        const owner = parsePrivateDirName(name);
        if (!owner || !lstatSync(path).isDirectory() || !ownerIsGone(owner)) continue;
        rmSync(path, { recursive: true, force: true });
        removed.push(path);
      } else if (/^\.memwhy-\d+\.lock$/.test(name)) {
        if (!lstatSync(path).isFile()) continue;
        const owner = readLockOwner(path);
        if (!owner || !ownerIsGone(owner)) continue;
        rmSync(path, { force: true });
        removed.push(path);
      }
    } catch {
      // Gone already, or another memwhy is sweeping too.
    }
  }
  return removed;
}

/**
 * Where memwhy reaches the target's /tmp: directly when the target shares
 * our mount namespace (so cleaning up still works after the target has
 * exited and /proc/PID/root has gone), else through /proc/PID/root.
 */
export function targetTmpRoot(pid: number): string {
  const ours = namespaceOf('self', 'mnt');
  return ours !== undefined && ours === namespaceOf(pid, 'mnt') ? '' : `/proc/${pid}/root`;
}
