/**
 * The heap dump probe: the agent (src/agent/heapdump.py) writes every object
 * of the target to a file in memwhy's private directory inside the target's
 * /tmp; memwhy moves it to where the user asked, whole or not at all
 * (util/outputFile.ts).
 */
import { join } from 'node:path';
import { HEAP_DUMP_CHILD_MEMORY, type AgentSession } from '../attach/session.js';
import { moveOutputFile } from '../util/outputFile.js';
import type { SnapshotInfo } from './census.js';

/** What the agent's heapdump.dump returns. */
export interface DumpReply {
  path: string;
  objects: number;
  edges: number;
  gc_tracked: number;
  bytes: number;
  /**
   * The longest the target's other threads were held off at a time: the
   * fork, for a dump written by a child; otherwise the longest step of the
   * walk (they run between steps; the switch interval is never raised).
   */
  pause_ms: number;
  /** The dump's CPU time for the walk and labels (3.6 and 2.7: the whole process's). */
  pause_cpu_ms: number;
  walk_ms: number;
  /** The walk and the labels (older agents: absent). */
  graph_ms?: number;
  /** Walk, labels and writing the file. */
  wall_ms: number;
  objects_per_s: number | null;
  /** Where the walk ran: a copy-on-write child, or the target (and why). Absent from older agents. */
  snapshot?: SnapshotInfo;
}

export interface HeapDumpEvidence extends DumpReply {
  pid: number;
  /** Where the dump now is. */
  file: string;
}

export interface DumpOptions {
  /** Seconds to wait for the agent's reply. */
  timeoutS?: number;
  /** Replace an existing file at dest that memwhy did not write. */
  force?: boolean;
}

/** The dump's name inside the agent's private directory. */
const NAME = 'heap.mwd';

export async function collectHeapDump(session: AgentSession, dest: string, opts: DumpOptions = {}): Promise<HeapDumpEvidence> {
  const reply = await session.call<DumpReply>('heapdump.dump', { path: join(session.targetDir, NAME) }, { timeoutS: opts.timeoutS ?? 900, fork: true, childMemory: HEAP_DUMP_CHILD_MEMORY });
  // Whole or not at all, never over an unrelated file; 0600 when copied, as it
  // holds the target's dict keys and names.
  moveOutputFile(join(session.localDir, NAME), dest, { force: opts.force, mode: 0o600 });
  // In a child, the agent's pause_ms is the child's longest step, which held no one.
  const pause = reply.snapshot?.forked ? (reply.snapshot.fork_ms ?? reply.pause_ms) : reply.pause_ms;
  return { ...reply, pause_ms: pause, pid: session.target.pid, file: dest };
}
