/**
 * The heap dump probe: the agent (src/agent/heapdump.py) writes every object
 * of the target to a file in memwhy's private directory inside the target's
 * /tmp; memwhy moves it to where the user asked, whole or not at all.
 */
import { closeSync, constants, copyFileSync, fsyncSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentSession } from '../attach/session.js';
import { isErrno, UserError } from '../errors.js';

/** What the agent's heapdump.dump returns. */
export interface DumpReply {
  path: string;
  objects: number;
  edges: number;
  gc_tracked: number;
  bytes: number;
  /** How long the target's other threads were held off (walk and labels). */
  pause_ms: number;
  pause_cpu_ms: number;
  walk_ms: number;
  /** Pause plus writing the file. */
  wall_ms: number;
  objects_per_s: number | null;
}

export interface HeapDumpEvidence extends DumpReply {
  pid: number;
  /** Where the dump now is. */
  file: string;
}

export interface DumpOptions {
  /** Seconds to wait for the agent's reply. */
  timeoutS?: number;
}

/** The dump's name inside the agent's private directory. */
const NAME = 'heap.mwd';

export async function collectHeapDump(session: AgentSession, dest: string, opts: DumpOptions = {}): Promise<HeapDumpEvidence> {
  const reply = await session.call<DumpReply>('heapdump.dump', { path: join(session.targetDir, NAME) }, { timeoutS: opts.timeoutS ?? 900 });
  moveFile(join(session.localDir, NAME), dest);
  return { ...reply, pid: session.target.pid, file: dest };
}

/**
 * Renames src to dest; across file systems (the target's /tmp is often a
 * container's), copies to dest.tmp, syncs, renames, then removes src. Either
 * way dest is never seen half written.
 */
export function moveFile(src: string, dest: string): void {
  try {
    renameSync(src, dest);
    return;
  } catch (err) {
    if (!isErrno(err, 'EXDEV')) throw writeError(dest, err);
  }
  const tmp = `${dest}.tmp`;
  try {
    copyFileSync(src, tmp, constants.COPYFILE_FICLONE);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, dest);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Never made, or already gone.
    }
    throw writeError(dest, err);
  }
  unlinkSync(src);
}

function writeError(dest: string, err: unknown): Error {
  const message = (err as Error).message;
  if (isErrno(err, 'ENOENT') || isErrno(err, 'EACCES') || isErrno(err, 'ENOSPC') || isErrno(err, 'EISDIR')) {
    let where = dirname(dest);
    try {
      statSync(where);
    } catch {
      where = `${where} (which does not exist)`;
    }
    return new UserError(`cannot write the heap dump to ${dest} in ${where}: ${message}`);
  }
  return err as Error;
}
