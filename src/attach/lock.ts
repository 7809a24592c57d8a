/**
 * One memwhy at a time per target: a lock file beside the agent's directory
 * (the target's /tmp, so memwhys in different mount namespaces see the same
 * one). A second memwhy waits for it, then refuses; a lock whose owner has
 * died is taken over.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { isErrno, UserError } from '../errors.js';
import { processAlive } from '../target/proc.js';
import { lockContent, ownerIsGone, readLockOwner } from './leftovers.js';

export interface AttachLock {
  release(): void;
}

function tryTake(path: string): boolean {
  try {
    // O_EXCL: never through a symlink, never over someone else's file.
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, lockContent());
    closeSync(fd);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
}

/** `tmpRoot` reaches the target's /tmp from here ('' when it is ours: see targetTmpRoot). */
export async function takeAttachLock(tmpRoot: string, pid: number, waitS: number, signal?: AbortSignal): Promise<AttachLock> {
  const path = `${tmpRoot}/tmp/.memwhy-${pid}.lock`;
  const deadline = Date.now() + waitS * 1000;
  let announced = false;
  for (;;) {
    // Taking the lock is the attach's first step: said as the transports say it.
    if (!processAlive(pid)) throw new UserError(`the target (pid ${pid}) exited while memwhy was attaching`);
    let taken: boolean;
    try {
      taken = tryTake(path);
    } catch (err) {
      // The target's /tmp vanished with it, or is not writable for us.
      if (!processAlive(pid)) throw new UserError(`the target (pid ${pid}) exited while memwhy was attaching`);
      throw new UserError(`cannot write memwhy's lock file in the target's /tmp (${path}): ${(err as Error).message}`);
    }
    if (taken) {
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        process.off('exit', release);
        rmSync(path, { force: true });
      };
      process.once('exit', release);
      return { release };
    }
    const holder = readLockOwner(path);
    if (holder !== undefined && ownerIsGone(holder)) {
      // Left by a memwhy that was killed: take it over at once.
      rmSync(path, { force: true });
      continue;
    }
    // (No holder: the file is being written this instant.)
    if (Date.now() >= deadline || signal?.aborted) {
      throw new UserError(`another memwhy${holder ? ` (pid ${holder.pid})` : ''} is attached to pid ${pid}: try again when it has finished`, 3);
    }
    if (!announced) {
      process.stderr.write(`memwhy: waiting for another memwhy${holder ? ` (pid ${holder.pid})` : ''} attached to pid ${pid}...\n`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
