/**
 * Reads a heap dump written by src/agent/heapdump.py (format:
 * docs/dump-format.md) into typed arrays: one row per object, edges in CSR
 * form (edgeStart/edgeTarget), so a 4M-object, 10M-edge dump costs a few
 * hundred MiB, not a JavaScript object per node.
 *
 * The writer stores each reference as the target's address; here they become
 * object indices. References to addresses that are not objects of the dump
 * (the dump's own bookkeeping, left out on purpose) are dropped and counted.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors.js';

export const MAGIC = 'MEMWHYD1';
export const FORMAT_VERSION = 1;
const HEADER_BYTES = 16;
const SECTION_HEADER_BYTES = 16;
const SIZE_OVERFLOW = 0xffffffff;

/** Node label kinds (NLAB section). */
export const NodeKind = {
  module: 1,
  moduleDict: 2,
  class: 3,
  classDict: 4,
  frame: 5,
  function: 6,
  /** A frame of memwhy's own agent: a root, so what only the agent holds is named as such. */
  agent: 7,
} as const;
export type NodeKindValue = (typeof NodeKind)[keyof typeof NodeKind];

export interface NodeLabel {
  kind: NodeKindValue;
  text: string;
}

/** The META section: what the writer knew about the target. */
export interface DumpMeta {
  python: string;
  implementation: string;
  pid: number;
  pointer_size: number;
  /** Unix seconds. */
  started_at: number;
  finished_at: number;
  pause_ms: number;
  objects: number;
  edges: number;
  gc_tracked: number;
  [key: string]: unknown;
}

export interface HeapDump {
  path: string;
  meta: DumpMeta;
  nodeCount: number;
  /** Module-qualified type names ("app.models.Session"; builtins plain: "str"). */
  typeNames: string[];
  nodeType: Uint32Array;
  /** Shallow size (sys.getsizeof) in bytes. */
  nodeSize: Float64Array;
  /** The object's address in the target (exact: user-space addresses fit in 2^53). */
  address: Float64Array;
  /** CSR: the references of node i are edgeTarget[edgeStart[i] .. edgeStart[i+1]). */
  edgeStart: Uint32Array;
  edgeTarget: Uint32Array;
  /** Edge labels, sorted by position in edgeTarget: ".name" or "['key']". */
  edgeLabelPos: Uint32Array;
  edgeLabelText: Uint32Array;
  /** Modules (by name) and every thread's frames. */
  roots: Uint32Array;
  nodeLabels: Map<number, NodeLabel>;
  /** References whose target is not an object of the dump (dropped). */
  droppedEdges: number;
  string(index: number): string;
  /** The label of edge position `pos`, or undefined. */
  edgeLabel(pos: number): string | undefined;
  /** The index of the object at `address`, or -1. */
  nodeAt(address: number): number;
}

export class DumpFormatError extends UserError {
  constructor(path: string, what: string) {
    super(`${path} is not a memwhy heap dump memwhy can read: ${what}`);
  }
}

interface Section {
  offset: number;
  length: number;
  /** The header's element count (informative, except for STRS: where its offsets end). */
  count: number;
}

/**
 * Where the parser's bytes come from: a whole buffer (tests, fuzzing), or an
 * open file read a section at a time, so that a multi-GiB dump never sits
 * in memory whole next to the arrays made from it.
 */
interface ByteSource {
  size: number;
  /** `length` bytes from `offset`, in memory of their own (8-aligned, so typed arrays can view them). */
  read(offset: number, length: number): Uint8Array;
  /** `out.length` bytes from `offset` into `out`: memory the caller reuses. */
  readInto(offset: number, out: Uint8Array): void;
}

function bufferSource(input: Uint8Array): ByteSource {
  const readInto = (offset: number, out: Uint8Array): void => out.set(input.subarray(offset, offset + out.length));
  return {
    size: input.byteLength,
    // A copy (a Buffer's slice would be a view into a shared pool): typed arrays over it need offset 0.
    read: (offset, length) => new Uint8Array(input.subarray(offset, offset + length)),
    readInto,
  };
}

function fileSource(fd: number, size: number): ByteSource {
  const readInto = (offset: number, out: Uint8Array): void => {
    for (let got = 0; got < out.length;) {
      const n = readSync(fd, out, got, out.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
  };
  return {
    size,
    read(offset, length) {
      const out = new Uint8Array(length);
      readInto(offset, out);
      return out;
    },
    readInto,
  };
}

export function readDump(path: string): HeapDump {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parseFrom(fileSource(fd, fstatSync(fd).size), path);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

export function parseDump(input: Uint8Array, path = '<buffer>'): HeapDump {
  return parseFrom(bufferSource(input), path);
}

/** References are resolved this many at a time: the EDGE section (8 bytes each) is never read whole. */
const EDGE_CHUNK = 1 << 20;
/** Address lookups per block of AddressTable.findAll: 1024 slot lines are 64 KiB, within L2. */
const LOOKUP_BLOCK = 1024;

/*
 * The first write to each page of new memory is a page fault, and on the VM
 * this was measured on that costs ~3 ms per MiB (a 400 MiB array: 1.25 s to
 * fill the first time, 17 ms the second), more than reading the file. So
 * the reader converts sections in the memory they were read into (ADDR,
 * SIZE, EOFF) and reads every chunk of EDGE into one buffer.
 */

function parseFrom(src: ByteSource, path: string): HeapDump {
  const head = src.read(0, Math.min(HEADER_BYTES, src.size));
  if (head.byteLength < HEADER_BYTES || new TextDecoder().decode(head.subarray(0, 8)) !== MAGIC) {
    throw new DumpFormatError(path, `no ${MAGIC} header`);
  }
  const version = new DataView(head.buffer).getUint16(8, true);
  if (version !== FORMAT_VERSION) {
    throw new DumpFormatError(path, `format version ${version}; this memwhy reads version ${FORMAT_VERSION} (upgrade memwhy)`);
  }
  const sections = new Map<string, Section>();
  let pos = HEADER_BYTES;
  let complete = false;
  while (pos + SECTION_HEADER_BYTES <= src.size) {
    const sh = src.read(pos, SECTION_HEADER_BYTES);
    const shView = new DataView(sh.buffer);
    const tag = String.fromCharCode(sh[0]!, sh[1]!, sh[2]!, sh[3]!);
    const length = Number(shView.getBigUint64(8, true));
    const offset = pos + SECTION_HEADER_BYTES;
    if (offset + length > src.size) break;
    if (tag === 'END ') {
      complete = true;
      break;
    }
    sections.set(tag, { offset, length, count: shView.getUint32(4, true) });
    pos = offset + Math.ceil(length / 8) * 8;
  }
  if (!complete) throw new DumpFormatError(path, 'the file is cut short (no END section): was it copied while being written?');

  const need = (tag: string): Section => {
    const s = sections.get(tag);
    if (!s) throw new DumpFormatError(path, `no ${tag} section`);
    return s;
  };
  // A damaged file must fail here with its tag, not as a RangeError from a typed-array view.
  const checkLength = (tag: string, s: Section, elementBytes: number): void => {
    if (s.length % elementBytes !== 0) throw new DumpFormatError(path, `its ${tag} section's length ${s.length} is not a multiple of ${elementBytes}`);
  };
  const u32 = (tag: string, elementBytes = 4): Uint32Array => {
    const s = need(tag);
    checkLength(tag, s, elementBytes);
    return new Uint32Array(src.read(s.offset, s.length).buffer, 0, s.length / 4);
  };
  const u64AsPairs = (tag: string): Uint32Array => u32(tag, 8);
  /** Every value of `values` below `limit`: indices are used unchecked by the analysis. */
  const indices = (tag: string, values: Uint32Array, limit: number, stride = 1, first = 0): void => {
    for (let k = first; k < values.length; k += stride) {
      if (values[k]! >= limit) throw new DumpFormatError(path, `its ${tag} section refers to index ${values[k]} of ${limit}`);
    }
  };

  const metaSection = need('META');
  let meta: DumpMeta;
  try {
    meta = JSON.parse(new TextDecoder().decode(src.read(metaSection.offset, metaSection.length))) as DumpMeta;
  } catch {
    throw new DumpFormatError(path, 'its META section is not JSON');
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new DumpFormatError(path, 'its META section is not a JSON object');

  const strs = need('STRS');
  // The header's count field says where the offsets end and the text begins.
  const stringCount = strs.count;
  if ((stringCount + 1) * 4 > strs.length) throw new DumpFormatError(path, `its STRS section is too short for ${stringCount} strings`);
  const stringOffsets = new Uint32Array(src.read(strs.offset, (stringCount + 1) * 4).buffer);
  const blobStart = strs.offset + (stringCount + 1) * 4;
  for (let i = 0; i < stringCount; i++) {
    if (stringOffsets[i]! > stringOffsets[i + 1]!) throw new DumpFormatError(path, `its string ${i} ends before it starts`);
  }
  if (blobStart + stringOffsets[stringCount]! > strs.offset + strs.length) {
    throw new DumpFormatError(path, 'its strings run past the STRS section');
  }
  const blob = src.read(blobStart, stringOffsets[stringCount]!);
  const decoder = new TextDecoder();
  const stringCache: (string | undefined)[] = new Array(stringCount);
  const string = (i: number): string => {
    let s = stringCache[i];
    if (s === undefined) {
      if (i < 0 || i >= stringCount) throw new DumpFormatError(path, `string ${i} out of range`);
      s = decoder.decode(blob.subarray(stringOffsets[i]!, stringOffsets[i + 1]!));
      stringCache[i] = s;
    }
    return s;
  };

  const typeNames = Array.from(u32('TYPE'), (i) => string(i));
  const addrPairs = u64AsPairs('ADDR');
  const nodeCount = addrPairs.length / 2;
  const nodeType = u32('OTYP');
  const sizeSection = need('SIZE');
  const eoff = u32('EOFF');
  const edgeSection = need('EDGE');
  checkLength('EDGE', edgeSection, 8);
  if (nodeType.length !== nodeCount || sizeSection.length !== 4 * nodeCount || eoff.length !== nodeCount + 1) {
    throw new DumpFormatError(path, 'its object columns have different lengths');
  }
  indices('OTYP', nodeType, typeNames.length);
  // EOFF drives the edge loop: an offset past EDGE or going backwards would read garbage or loop 2^32 times.
  const rawEdges = edgeSection.length / 8;
  if (eoff[0] !== 0 || eoff[nodeCount]! > rawEdges) throw new DumpFormatError(path, `its EOFF offsets do not span the ${rawEdges} edges`);
  for (let i = 0; i < nodeCount; i++) {
    if (eoff[i]! > eoff[i + 1]!) throw new DumpFormatError(path, `its EOFF offsets go backwards at object ${i}`);
  }

  // Each u64 address becomes a float64 in its own 8 bytes (both halves read before the write).
  const address = new Float64Array(addrPairs.buffer, 0, nodeCount);
  for (let i = 0; i < nodeCount; i++) address[i] = addrPairs[2 * i + 1]! * 2 ** 32 + addrPairs[2 * i]!;
  const nodeSize = widenedSizes(src, sizeSection, nodeCount);
  const bigs = sections.has('BIGS') ? u64AsPairs('BIGS') : new Uint32Array(0);
  for (let k = 0; k + 3 < bigs.length; k += 4) {
    const i = bigs[k]!;
    if (nodeSize[i] === SIZE_OVERFLOW) nodeSize[i] = bigs[k + 3]! * 2 ** 32 + bigs[k + 2]!;
  }

  // Only the reading needs the table: analysing one dump never looks an
  // address up, so it is not kept (at 20 M objects it is 256 MiB, and the
  // address pairs it compared against 160 MiB more); a diff rebuilds it
  // once from `address`.
  const table = new AddressTable(address, nodeCount);

  // Resolve addresses to indices, compacting out the unresolved, and carry
  // the edge labels (positions in the raw EDGE array) to the new positions.
  const rawLabels = sections.has('ELAB') ? u32('ELAB', 8) : new Uint32Array(0);
  indices('ELAB', rawLabels, stringCount, 2, 1);
  const labelCount = rawLabels.length / 2;
  const labelOrder = Array.from({ length: labelCount }, (_, k) => k).sort((a, b) => rawLabels[2 * a]! - rawLabels[2 * b]!);
  const edgeLabelPos = new Uint32Array(labelCount);
  const edgeLabelText = new Uint32Array(labelCount);
  let keptLabels = 0;
  let nextLabel = 0;

  const edgeTarget = new Uint32Array(rawEdges);
  // EOFF becomes edgeStart in place: eoff[i] is read before it is overwritten, eoff[i + 1] after.
  const edgeStart = eoff;
  let out = 0;
  let dropped = 0;
  // The window of EDGE in memory, resolved to object indices (-1: not an
  // object of the dump): edges chunkStart .. chunkStart + chunkLength.
  const resolved = new Int32Array(Math.min(EDGE_CHUNK, rawEdges));
  const chunkBytes = new Uint8Array(8 * resolved.length);
  let chunkStart = 0;
  let chunkLength = 0;
  const load = (e: number): void => {
    chunkLength = Math.min(EDGE_CHUNK, rawEdges - e);
    const bytes = chunkBytes.subarray(0, 8 * chunkLength);
    src.readInto(edgeSection.offset + 8 * e, bytes);
    table.findAll(new Uint32Array(bytes.buffer, 0, 2 * chunkLength), resolved);
    chunkStart = e;
  };
  for (let i = 0; i < nodeCount; i++) {
    const first = eoff[i]!;
    edgeStart[i] = out;
    const end = eoff[i + 1]!;
    for (let e = first; e < end; e++) {
      if (e - chunkStart >= chunkLength) load(e);
      const t = resolved[e - chunkStart]!;
      while (nextLabel < labelCount && rawLabels[2 * labelOrder[nextLabel]!]! < e) nextLabel++;
      if (t < 0) {
        dropped++;
        continue;
      }
      if (nextLabel < labelCount && rawLabels[2 * labelOrder[nextLabel]!]! === e) {
        edgeLabelPos[keptLabels] = out;
        edgeLabelText[keptLabels] = rawLabels[2 * labelOrder[nextLabel]! + 1]!;
        keptLabels++;
        nextLabel++;
      }
      edgeTarget[out++] = t;
    }
  }
  edgeStart[nodeCount] = out;

  const nlab = sections.has('NLAB') ? u32('NLAB', 12) : new Uint32Array(0);
  indices('NLAB', nlab, nodeCount, 3);
  const roots = u32('ROOT');
  indices('ROOT', roots, nodeCount);
  const nodeLabels = new Map<number, NodeLabel>();
  for (let k = 0; k + 2 < nlab.length; k += 3) {
    const node = nlab[k]!;
    // A module's dict is also a class's? Keep the first label: the writer
    // writes module and frame labels first.
    if (!nodeLabels.has(node)) nodeLabels.set(node, { kind: nlab[k + 1] as NodeKindValue, text: string(nlab[k + 2]!) });
  }

  const posView = edgeLabelPos.subarray(0, keptLabels);
  let lookup: AddressTable | undefined;
  const textView = edgeLabelText.subarray(0, keptLabels);
  return {
    path,
    meta,
    nodeCount,
    typeNames,
    nodeType,
    nodeSize,
    address,
    edgeStart,
    // A view, not a copy: the dropped references' slots (usually few) cost less than a second edge array at the peak.
    edgeTarget: edgeTarget.subarray(0, out),
    edgeLabelPos: posView,
    edgeLabelText: textView,
    roots,
    nodeLabels,
    droppedEdges: dropped,
    string,
    edgeLabel(pos: number): string | undefined {
      let lo = 0;
      let hi = posView.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const p = posView[mid]!;
        if (p === pos) return string(textView[mid]!);
        if (p < pos) lo = mid + 1;
        else hi = mid - 1;
      }
      return undefined;
    },
    nodeAt(addr: number): number {
      lookup ??= new AddressTable(address, nodeCount);
      return lookup.find(addr % 2 ** 32, Math.floor(addr / 2 ** 32));
    },
  };
}

/**
 * The SIZE section (u32 per object) as float64s, widened in place: read into
 * the upper half of the result's memory, then converted front to back. The
 * float64 written for object i ends at byte 8i + 8, at or before where the
 * u32 of object i + 1 starts (4n + 4i + 4), so nothing is overwritten before
 * it is read.
 */
function widenedSizes(src: ByteSource, section: Section, nodeCount: number): Float64Array {
  const memory = new ArrayBuffer(8 * nodeCount);
  src.readInto(section.offset, new Uint8Array(memory, 4 * nodeCount, 4 * nodeCount));
  const narrow = new Uint32Array(memory, 4 * nodeCount, nodeCount);
  const wide = new Float64Array(memory);
  for (let i = 0; i < nodeCount; i++) wide[i] = narrow[i]!;
  return wide;
}

/**
 * Address -> object index, open addressing (linear probing) over (lo, hi)
 * u32 halves: no BigInt, no Map entry per object. Addresses in one dump are
 * unique (two live objects cannot share one).
 *
 * A slot is 0 when empty, else 1 + the object's index in its low
 * `indexBits` bits and a fingerprint of the address (the top bits of
 * a second multiply) in the bits above, up to bit 30. A probe whose
 * fingerprint differs moves on to the next slot, usually in the same cache
 * line, without reading that object's address: a random read, and in a
 * linear-probing table at this load 28 % of lookups pass a slot that holds
 * another address (a 6 M-object dump of bench/fixtures/twenty_million_objects.py).
 */
class AddressTable {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly shift: number;
  private readonly indexBits: number;
  private readonly indexMask: number;
  private readonly fingerprintBits: number;

  constructor(
    private readonly address: Float64Array,
    count: number,
  ) {
    let bits = 4;
    while (1 << bits < count * 2) bits++;
    this.slots = new Int32Array(1 << bits);
    this.mask = (1 << bits) - 1;
    this.shift = 32 - bits;
    let indexBits = 1;
    while (2 ** indexBits <= count) indexBits++;
    this.indexBits = indexBits;
    this.indexMask = 2 ** indexBits - 1;
    this.fingerprintBits = 31 - indexBits;
    for (let i = 0; i < count; i++) {
      const a = address[i]!;
      const m = this.mix(a % 2 ** 32, Math.floor(a / 2 ** 32));
      let s = this.home(m);
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = this.fingerprint(m) | (i + 1);
    }
  }

  /** The address bits that vary, folded into 32 (objects are at least 8-aligned). */
  private mix(lo: number, hi: number): number {
    return (lo >>> 3) ^ Math.imul(hi, 0x27d4eb2d);
  }

  /** Fibonacci hashing: the top bits of a multiply. */
  private home(mixed: number): number {
    return Math.imul(mixed, 0x9e3779b1) >>> this.shift;
  }

  /** The top bits of a second multiply, placed above the index (0 when the index takes all 31 bits). */
  private fingerprint(mixed: number): number {
    const f = this.fingerprintBits;
    return f === 0 ? 0 : (Math.imul(mixed, 0x85ebca6b) >>> (32 - f)) << this.indexBits;
  }

  /**
   * find() for each (lo, hi) pair of `pairs`, into `out`. In two passes per
   * block of LOOKUP_BLOCK, so that the random reads of one pass do not wait
   * for each other: each lookup is two dependent cache misses (slot, then
   * the address it names), ~260 ns in a row on the VM this was measured on;
   * issued side by side, the CPU overlaps them. The block is small enough
   * that the first pass's slot lines are still cached when the second pass
   * probes on from a slot holding another address (find()).
   */
  findAll(pairs: Uint32Array, out: Int32Array): void {
    const count = pairs.length >>> 1;
    for (let first = 0; first < count; first += LOOKUP_BLOCK) this.findBlock(pairs, out, first, Math.min(count, first + LOOKUP_BLOCK));
  }

  private findBlock(pairs: Uint32Array, out: Int32Array, first: number, end: number): void {
    const slots = this.slots;
    const address = this.address;
    const indexMask = this.indexMask;
    // The first slot of each (0, empty: no object has that address; so for
    // addresses find() rules out).
    for (let j = first; j < end; j++) {
      const hi = pairs[2 * j + 1]!;
      out[j] = hi >= 2 ** 21 ? 0 : slots[this.home(this.mix(pairs[2 * j]!, hi))]!;
    }
    // Check the object found against the address; probe on where it is another.
    for (let j = first; j < end; j++) {
      const v = out[j]!;
      if (v === 0) {
        out[j] = -1;
        continue;
      }
      const lo = pairs[2 * j]!;
      const hi = pairs[2 * j + 1]!;
      const i = (v & indexMask) - 1;
      const hit = (v & ~indexMask) === this.fingerprint(this.mix(lo, hi)) && address[i] === hi * 2 ** 32 + lo;
      out[j] = hit ? i : this.find(lo, hi);
    }
  }

  find(lo: number, hi: number): number {
    const address = this.address;
    // Above 2^53 the sum would round: no user-space address is there.
    if (hi >= 2 ** 21) return -1;
    const want = hi * 2 ** 32 + lo;
    const m = this.mix(lo, hi);
    const fingerprint = this.fingerprint(m);
    const indexMask = this.indexMask;
    for (let s = this.home(m); ; s = (s + 1) & this.mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      if ((v & ~indexMask) === fingerprint && address[(v & indexMask) - 1] === want) return (v & indexMask) - 1;
    }
  }
}
