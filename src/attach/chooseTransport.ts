/**
 * Which transport runs the bootstrap: the memory transport wherever it
 * applies (no gdb needed, the target stopped for well under a millisecond),
 * gdb where it does not (no layout, stripped statics) or where the queued
 * call did not run in a short while (an idle main thread: gdb can wake it
 * from its blocking call, the queue cannot).
 */
import { UserError } from '../errors.js';
import type { PythonTarget } from '../target/python.js';
import { gdbInstalled } from '../gdb/launch.js';
import { GdbTransport } from './gdbTransport.js';
import { MemoryTransport, MemoryTransportUnavailable, TargetIdle } from './memoryTransport.js';
import type { InjectOptions, InjectResult, Transport } from './transport.js';

export type TransportChoice = 'auto' | 'memory' | 'gdb';

/**
 * With gdb to fall back on, how long the queued call gets before memwhy
 * takes it back and uses gdb. A main loop that wakes once a second still
 * makes it; one blocked for longer goes to gdb.
 */
const QUEUED_WAIT_BEFORE_GDB_S = 2;

export function chooseTransport(choice: TransportChoice): Transport {
  if (choice === 'gdb') return new GdbTransport();
  if (choice === 'memory') return new MemoryTransport();
  return new AutoTransport();
}

class AutoTransport implements Transport {
  private memory?: MemoryTransport;

  async inject(target: PythonTarget, bootstrap: string, opts: InjectOptions): Promise<InjectResult> {
    const gdb = gdbInstalled();
    try {
      MemoryTransport.plan(target);
    } catch (err) {
      if (!(err instanceof MemoryTransportUnavailable)) throw err;
      if (!gdb) throw new UserError(`${err.message}; gdb, memwhy's other way in, is not installed: apt-get install gdb`);
      return { ...(await new GdbTransport().inject(target, bootstrap, opts)), fallback: err.message };
    }
    this.memory = new MemoryTransport(gdb ? Math.min(QUEUED_WAIT_BEFORE_GDB_S, opts.safePointTimeoutS) : undefined);
    try {
      return await this.memory.inject(target, bootstrap, opts);
    } catch (err) {
      if (!gdb || !(err instanceof TargetIdle || err instanceof MemoryTransportUnavailable)) throw err;
      opts.onProgress?.(`${err instanceof TargetIdle ? 'the main thread is idle' : err.message}: attaching with gdb instead...`);
      const reason = err instanceof TargetIdle ? `the queued call did not run in ${err.waitedS} s (${err.what})` : err.message;
      return { ...(await new GdbTransport().inject(target, bootstrap, opts)), fallback: reason };
    }
  }

  settle(pid: number): void {
    this.memory?.settle(pid);
  }
}
