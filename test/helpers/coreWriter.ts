/** Builds small x86_64 ELF core files for the core reader's tests. */
/** An ELF note: namesz, descsz, type, name and desc padded to 4 bytes. */
export function note(type: number, desc: Buffer): Buffer {
  const name = Buffer.from('CORE\0\0\0\0');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(5, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  const pad = Buffer.alloc((4 - (desc.length % 4)) % 4);
  return Buffer.concat([head, name, desc, pad]);
}

export interface Segment {
  type: number;
  vaddr: bigint;
  memsz: number;
  data: Buffer;
}

/** A minimal x86_64 ELF core: the header, program headers, then each segment's data. */
export function buildCore(segments: Segment[]): Buffer {
  const ehdr = Buffer.alloc(64);
  ehdr.writeUInt32BE(0x7f454c46, 0);
  ehdr[4] = 2; // ELFCLASS64
  ehdr[5] = 1; // ELFDATA2LSB
  ehdr[6] = 1; // EV_CURRENT
  ehdr.writeUInt16LE(4, 16); // ET_CORE
  ehdr.writeUInt16LE(62, 18); // EM_X86_64
  ehdr.writeUInt32LE(1, 20);
  ehdr.writeBigUInt64LE(64n, 32); // e_phoff
  ehdr.writeUInt16LE(64, 52); // e_ehsize
  ehdr.writeUInt16LE(56, 54); // e_phentsize
  ehdr.writeUInt16LE(segments.length, 56);
  const phdrs = Buffer.alloc(56 * segments.length);
  let offset = 64 + phdrs.length;
  segments.forEach((s, i) => {
    const p = i * 56;
    phdrs.writeUInt32LE(s.type, p);
    phdrs.writeUInt32LE(4, p + 4);
    phdrs.writeBigUInt64LE(BigInt(offset), p + 8);
    phdrs.writeBigUInt64LE(s.vaddr, p + 16);
    phdrs.writeBigUInt64LE(BigInt(s.data.length), p + 32);
    phdrs.writeBigUInt64LE(BigInt(s.memsz), p + 40);
    offset += s.data.length;
  });
  return Buffer.concat([ehdr, phdrs, ...segments.map((s) => s.data)]);
}
