/**
 * What given objects retain in a heap dump: each one's size plus that of
 * everything only it keeps alive, read from the dump's dominator tree. Used
 * by `diagnose --dump` for the objects on its referrer chains, found by the
 * address the referrer probe reported, so that the holder of a growing type
 * comes with the memory it holds.
 */
import { dominatorsOf, heapBytes } from '../analyze/retainers.js';
import type { DumpFacts } from '../evidence/evidence.js';
import { readDump } from '../heap/dumpFile.js';

/** Reads the dump at `file` and gives the retained size of each of `addresses` ("0x7f...") that is an object in it. */
export function retainedInDump(file: string, addresses: Iterable<string>): DumpFacts {
  const dump = readDump(file);
  const sizes = dominatorsOf(dump).retained;
  const retained: DumpFacts['retained'] = {};
  for (const addr of addresses) {
    const node = dump.nodeAt(Number.parseInt(addr, 16));
    if (node >= 0 && sizes.count[node]! > 0) retained[addr] = { bytes: sizes.bytes[node]!, objects: sizes.count[node]! };
  }
  return { file, objects: dump.nodeCount, bytes: heapBytes(dump), retained };
}
