/**
 * One interface for reading a process's memory, whether the process is alive
 * (/proc/PID/mem) or dumped to a core file. Decoders in cpython/ see only
 * this, so every stack reader works on both.
 */

export interface MemorySource {
  /** Exactly `length` bytes at `address`; throws MemoryReadError if any of them is unreadable. */
  read(address: bigint, length: number): Buffer;
  readU8(address: bigint): number;
  readU16(address: bigint): number;
  readU32(address: bigint): number;
  readI32(address: bigint): number;
  readU64(address: bigint): bigint;
  readI64(address: bigint): bigint;
  /** A pointer (8 bytes on x86_64). */
  readPtr(address: bigint): bigint;
  close(): void;
}

/** An address the source cannot supply: unmapped, or left out of a core. */
export class MemoryReadError extends Error {
  constructor(
    readonly address: bigint,
    readonly length: number,
    reason: string,
  ) {
    super(`cannot read ${length} bytes at 0x${address.toString(16)}: ${reason}`);
    this.name = 'MemoryReadError';
  }
}

/** The typed reads, written once over `read`. */
export abstract class BaseMemorySource implements MemorySource {
  abstract read(address: bigint, length: number): Buffer;
  abstract close(): void;

  readU8(address: bigint): number {
    return this.read(address, 1).readUInt8(0);
  }
  readU16(address: bigint): number {
    return this.read(address, 2).readUInt16LE(0);
  }
  readU32(address: bigint): number {
    return this.read(address, 4).readUInt32LE(0);
  }
  readI32(address: bigint): number {
    return this.read(address, 4).readInt32LE(0);
  }
  readU64(address: bigint): bigint {
    return this.read(address, 8).readBigUInt64LE(0);
  }
  readI64(address: bigint): bigint {
    return this.read(address, 8).readBigInt64LE(0);
  }
  readPtr(address: bigint): bigint {
    return this.readU64(address);
  }
}
