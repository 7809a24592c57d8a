/** hold_known_bytes.py: a process with a known pattern at a known address. */
import { join } from 'node:path';
import { FIXTURES, startTarget, type Target } from '../helpers/target.js';
import { interpreters } from '../helpers/pythons.js';

/** The expected pattern of hold_known_bytes.py. */
export function knownPattern(): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(0xdeadbeef, 0);
  head.writeInt32LE(-42, 4);
  head.writeBigUInt64LE(0x0123456789abcdefn, 8);
  return Buffer.concat([head, Buffer.from('memwhy-known-bytes'.repeat(300))]);
}

/** Runs the fixture on the newest interpreter here. */
export async function startKnownBytes(): Promise<{ target: Target; address: bigint; length: number }> {
  const target = await startTarget(interpreters()[interpreters().length - 1]!.path, [join(FIXTURES, 'hold_known_bytes.py')]);
  const m = /^ready (\d+) (\d+)/m.exec(target.stdout())!;
  return { target, address: BigInt(m[1]!), length: Number(m[2]) };
}
