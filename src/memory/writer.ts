/**
 * Writes into a live process through /proc/PID/mem, as a debugger pokes
 * memory, but with no ptrace attach: the kernel allows it to whoever may
 * ptrace the process (PTRACE_MODE_ATTACH: same user or CAP_SYS_PTRACE, and
 * Yama's ptrace_scope). Writes go through even to read-only pages (the
 * kernel's FOLL_FORCE), so the caller alone decides where it is safe to write.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { procError } from '../target/proc.js';

export class MemoryWriter {
  private fd: number | undefined;

  private constructor(
    readonly pid: number,
    fd: number,
  ) {
    this.fd = fd;
  }

  static open(pid: number): MemoryWriter {
    try {
      return new MemoryWriter(pid, openSync(`/proc/${pid}/mem`, 'r+'));
    } catch (err) {
      throw procError(pid, 'mem', err);
    }
  }

  write(address: bigint, bytes: Buffer): void {
    if (this.fd === undefined) throw new Error(`/proc/${this.pid}/mem: write after close`);
    let done = 0;
    while (done < bytes.length) {
      // writeSync takes a number position (a bigint would be ignored and the
      // write land at the file offset): x86_64 user addresses stay below 2^47.
      const at = address + BigInt(done);
      if (at > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`/proc/${this.pid}/mem: address 0x${at.toString(16)} out of reach`);
      const n = writeSync(this.fd, bytes, done, bytes.length - done, Number(at));
      if (n === 0) throw new Error(`/proc/${this.pid}/mem: nothing written at 0x${(address + BigInt(done)).toString(16)}`);
      done += n;
    }
  }

  writeU32(address: bigint, value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    this.write(address, b);
  }

  writeU64(address: bigint, value: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(value);
    this.write(address, b);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
