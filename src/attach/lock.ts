/**
 * One memwhy at a time per target: a lock file beside the agent's directory
 * (the target's /tmp, so memwhys in different mount namespaces see the same
 * one). A second memwhy waits for it, then refuses; a lock whose owner has
 * died is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { isErrno, UserError } from '../errors.js';
import { processExists } from '../target/proc.js';

export interface AttachLock {
  release(): void;
}

function tryTake(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, JSON.stringify({ pid: process.pid, since: Date.now() }));
    closeSync(fd);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
}

function owner(path: string): number | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown };
    return typeof v.pid === 'number' ? v.pid : undefined;
  } catch {
    return undefined;
  }
}

export async function takeAttachLock(
  targetRoot: string,
  pid: number,
  waitS: number,
  signal?: AbortSignal,
): Promise<AttachLock> {
  const path = `${targetRoot}/tmp/.memwhy-${pid}.lock`;
  const deadline = Date.now() + waitS * 1000;
  let announced = false;
  for (;;) {
    if (!processExists(pid)) throw new UserError(`the target (pid ${pid}) exited`);
    let taken: boolean;
    try {
      taken = tryTake(path);
    } catch (err) {
      // The target's /tmp vanished with it, or is not writable for us.
      if (!processExists(pid)) throw new UserError(`the target (pid ${pid}) exited`);
      throw new UserError(`cannot write memwhy's lock file in the target's /tmp (${path}): ${(err as Error).message}`);
    }
    if (taken) {
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
      process.once('exit', release);
      return { release };
    }
    const holder = owner(path);
    if (holder === undefined || !processExists(holder)) {
      // Unreadable (being written this instant) or its owner is gone.
      if (holder !== undefined) rmSync(path, { force: true });
    }
    if (Date.now() >= deadline || signal?.aborted) {
      throw new UserError(
        `another memwhy${holder ? ` (pid ${holder})` : ''} is attached to pid ${pid}: try again when it has finished`,
        3,
      );
    }
    if (!announced) {
      process.stderr.write(`memwhy: waiting for another memwhy${holder ? ` (pid ${holder})` : ''} attached to pid ${pid}...\n`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
