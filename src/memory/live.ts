/**
 * A live process's memory through /proc/PID/mem: positioned reads, no ptrace
 * attach, nothing run in the target. Opening the file needs the same
 * permission as ptrace (same user, or root, and Yama's ptrace_scope).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { procError } from '../target/proc.js';
import { BaseMemorySource, MemoryReadError } from './source.js';

export class LiveMemory extends BaseMemorySource {
  private fd: number | undefined;

  private constructor(
    readonly pid: number,
    fd: number,
  ) {
    super();
    this.fd = fd;
  }

  /** Opens /proc/PID/mem; a missing process or a permission problem becomes a UserError. */
  static open(pid: number): LiveMemory {
    try {
      return new LiveMemory(pid, openSync(`/proc/${pid}/mem`, 'r'));
    } catch (err) {
      throw procError(pid, 'mem', err);
    }
  }

  read(address: bigint, length: number): Buffer {
    if (this.fd === undefined) throw new Error(`/proc/${this.pid}/mem: read after close`);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        // The position stays a bigint: user-space addresses can pass 2^53 on
        // 5-level paging, and Number would round them.
        n = readSync(this.fd, buf, done, length - done, address + BigInt(done));
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        throw new MemoryReadError(address, length, typeof code === 'string' ? code : String(err));
      }
      if (n === 0) throw new MemoryReadError(address, length, 'end of the address space');
      done += n;
    }
    return buf;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
