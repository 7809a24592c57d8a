/** A target's pending-call queue as memwhy reads it, for tests that check nothing of memwhy's is left queued. */
import { MemoryTransport } from '../../src/attach/memoryTransport.js';
import { queueState } from '../../src/cpython/pendingQueue.js';
import { describePython } from '../../src/target/python.js';
import { LiveMemory } from '../../src/memory/live.js';

/** Calls waiting in the queue, and whether memwhy may add one now. */
export function queueOf(pid: number): { waiting: number; state: string } {
  const plan = MemoryTransport.plan(describePython(pid));
  const memory = LiveMemory.open(pid);
  try {
    const cap = plan.queue.layout.capacity;
    const first = memory.readI32(plan.queue.first);
    const last = memory.readI32(plan.queue.last);
    return { waiting: (last - first + cap) % cap, state: queueState(memory, plan.queue).kind };
  } finally {
    memory.close();
  }
}
