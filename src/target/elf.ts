/**
 * A small ELF reader: headers, sections, symbols and the file image at a
 * virtual address, enough to find CPython's symbols in an executable or
 * libpython without running anything. ELF64 little-endian x86_64 only.
 *
 * Files can be tens of MB (libpython with symbols), so everything is read
 * with positioned reads, on first use, and only the tables asked for.
 * Layouts are from the System V gABI and /usr/include/elf.h.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors.js';
import type { Mapping } from './proc.js';

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
}

export interface ElfSection {
  name: string;
  addr: bigint;
  offset: bigint;
  size: bigint;
}

export interface ElfSegment {
  type: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
  flags: number;
}

// elf.h constants.
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_LOAD = 1;
export const PT_INTERP = 3;
const EM_X86_64 = 62;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const SHT_NOBITS = 8;
const SHN_UNDEF = 0;
const STB_LOCAL = 0;
const STT_FILE = 4;
const EHDR_SIZE = 64; // sizeof(Elf64_Ehdr)
const PHDR_SIZE = 56; // sizeof(Elf64_Phdr)
const SHDR_SIZE = 64; // sizeof(Elf64_Shdr)
const SYM_SIZE = 24; // sizeof(Elf64_Sym)

/** x86_64's page size: the kernel maps PT_LOAD segments at page-aligned addresses (ELF_PAGESTART). */
const PAGE = 4096n;

/**
 * An ELF file whose headers point outside it or describe tables too small to
 * hold their entries: a truncated or damaged file. A UserError, so `ps` skips
 * such a process and the CLI prints one line, not a RangeError's stack.
 */
export class ElfFormatError extends UserError {
  constructor(path: string, what: string) {
    super(`${path} is a truncated or damaged ELF file: ${what}`);
    this.name = 'ElfFormatError';
  }
}

interface RawSection extends ElfSection {
  type: number;
  link: number;
  entsize: bigint;
}

interface SymbolEntry extends ElfSymbol {
  global: boolean;
}

export class ElfFile {
  readonly type: number;
  private fd: number | undefined;
  /** Every read is checked against it before a buffer is allocated: a size field may say 2^40. */
  private readonly fileSize: bigint;
  private readonly phoff: bigint;
  private readonly phentsize: number;
  private readonly phnum: number;
  private readonly shoff: bigint;
  private readonly shentsize: number;
  private readonly shnum: number;
  private readonly shstrndx: number;
  private segmentList: ElfSegment[] | undefined;
  private sectionList: RawSection[] | undefined;
  private symbolMap: Map<string, SymbolEntry> | undefined;
  /** The file's device, inode, size and mtime: the same file opened again (another path through /proc/PID/root) has the same. */
  private readonly identity: string;

  private constructor(
    readonly path: string,
    fd: number,
    header: Buffer,
  ) {
    this.fd = fd;
    const st = fstatSync(fd, { bigint: true });
    this.fileSize = st.size;
    this.identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
    this.type = header.readUInt16LE(16);
    this.phoff = header.readBigUInt64LE(32);
    this.shoff = header.readBigUInt64LE(40);
    this.phentsize = header.readUInt16LE(54);
    this.phnum = header.readUInt16LE(56);
    this.shentsize = header.readUInt16LE(58);
    this.shnum = header.readUInt16LE(60);
    this.shstrndx = header.readUInt16LE(62);
  }

  /** Opens and checks the ELF header; throws a plain Error for anything but ELF64 LE x86_64. */
  static open(path: string): ElfFile {
    const fd = openSync(path, 'r');
    try {
      const header = Buffer.alloc(EHDR_SIZE);
      const n = readSync(fd, header, 0, EHDR_SIZE, 0);
      if (n < EHDR_SIZE || header.readUInt32BE(0) !== 0x7f454c46) {
        throw new Error(`${path} is not an ELF file`);
      }
      const cls = header[4];
      const data = header[5];
      const machine = header.readUInt16LE(18);
      if (cls !== ELFCLASS64 || data !== ELFDATA2LSB || machine !== EM_X86_64) {
        throw new Error(`${path} is an ELF file for another platform (class ${cls}, data ${data}, machine ${machine}): only 64-bit little-endian x86_64 is supported`);
      }
      return new ElfFile(path, fd, header);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  segments(): ElfSegment[] {
    if (!this.segmentList) {
      if (this.phnum > 0 && this.phentsize < PHDR_SIZE) {
        throw new ElfFormatError(this.path, `program header entries of ${this.phentsize} bytes (an Elf64_Phdr has ${PHDR_SIZE})`);
      }
      const table = this.read(this.phoff, this.phentsize * this.phnum, 'the program headers');
      this.segmentList = [];
      for (let i = 0; i < this.phnum; i++) {
        const p = i * this.phentsize; // Elf64_Phdr
        this.segmentList.push({
          type: table.readUInt32LE(p),
          flags: table.readUInt32LE(p + 4),
          offset: table.readBigUInt64LE(p + 8),
          vaddr: table.readBigUInt64LE(p + 16),
          filesz: table.readBigUInt64LE(p + 32),
          memsz: table.readBigUInt64LE(p + 40),
        });
      }
    }
    return this.segmentList;
  }

  sections(): ElfSection[] {
    return this.rawSections().map(({ name, addr, offset, size }) => ({ name, addr, offset, size }));
  }

  section(name: string): ElfSection | undefined {
    const s = this.rawSections().find((x) => x.name === name);
    return s && { name: s.name, addr: s.addr, offset: s.offset, size: s.size };
  }

  /** A defined symbol by name, from .symtab first, then .dynsym; globals win over locals. */
  symbol(name: string): ElfSymbol | undefined {
    const s = this.symbols().get(name);
    return s && { name: s.name, value: s.value, size: s.size };
  }

  /**
   * The local symbols of one source file's object, by name: in .symtab a
   * linker writes each object's locals after an STT_FILE symbol naming its
   * source (gABI, "Symbol Table"), so a static such as gcmodule.c's `enabled`
   * is told from another file's static of the same name. Empty when the file
   * is stripped; a name that `file`'s groups (two objects from same-named
   * sources) define twice is left out rather than guessed.
   */
  fileLocals(file: string): Map<string, ElfSymbol> {
    const found = new Map<string, ElfSymbol>();
    const twice = new Set<string>();
    const sections = this.rawSections();
    const table = sections.find((s) => s.name === '.symtab');
    const strings = table && sections[table.link];
    if (!table || !strings || table.type === SHT_NOBITS) return found;
    const data = this.read(table.offset, table.size, '.symtab');
    const names = this.read(strings.offset, strings.size, ".symtab's names");
    const entsize = Number(table.entsize) || SYM_SIZE;
    let inFile = false;
    for (let p = 0; p + SYM_SIZE <= data.length; p += entsize) {
      const info = data[p + 4]!;
      if (info >> 4 !== STB_LOCAL) continue;
      const name = cString(names, data.readUInt32LE(p));
      if ((info & 0xf) === STT_FILE) {
        inFile = name === file;
        continue;
      }
      if (!inFile || name === '' || data.readUInt16LE(p + 6) === SHN_UNDEF) continue;
      if (found.has(name)) twice.add(name);
      found.set(name, { name, value: data.readBigUInt64LE(p + 8), size: data.readBigUInt64LE(p + 16) });
    }
    for (const name of twice) found.delete(name);
    return found;
  }

  /** True when the file has a .symtab (it is not stripped). */
  hasSymtab(): boolean {
    return this.rawSections().some((s) => s.name === '.symtab');
  }

  /** The program interpreter (PT_INTERP), or undefined for static executables and most libraries. */
  interpreter(): string | undefined {
    const seg = this.segments().find((s) => s.type === PT_INTERP);
    return seg && cString(this.read(seg.offset, seg.filesz, 'PT_INTERP'), 0);
  }

  /**
   * The bytes of the file image at a virtual address, through the PT_LOAD that
   * holds it. Bytes past a segment's file size (.bss) read as zeros, as the loader makes them.
   */
  readAt(vaddr: bigint, length: number): Buffer {
    const seg = this.segments().find((s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr + BigInt(length) <= s.vaddr + s.memsz);
    if (!seg) throw new ElfFormatError(this.path, `no loadable segment holds 0x${vaddr.toString(16)}+${length}`);
    const out = Buffer.alloc(length);
    const rel = vaddr - seg.vaddr;
    if (rel < seg.filesz) {
      const n = Number(bigMin(BigInt(length), seg.filesz - rel));
      this.read(seg.offset + rel, n, `0x${vaddr.toString(16)}`).copy(out);
    }
    return out;
  }

  /** A NUL-terminated string in the file image (at most `max` bytes). */
  readString(vaddr: bigint, max = 256): string {
    const seg = this.segments().find((s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    if (!seg) throw new ElfFormatError(this.path, `no loadable segment holds 0x${vaddr.toString(16)}`);
    const avail = Number(bigMin(BigInt(max), seg.vaddr + seg.filesz - vaddr));
    return cString(this.readAt(vaddr, avail), 0);
  }

  /** A section's bytes from the file (empty for .bss-like sections). */
  sectionData(section: ElfSection): Buffer {
    const raw = this.rawSections().find((s) => s.name === section.name && s.offset === section.offset);
    if (raw && raw.type === SHT_NOBITS) return Buffer.alloc(0);
    return this.read(section.offset, section.size, `section ${section.name}`);
  }

  private rawSections(): RawSection[] {
    if (this.sectionList) return this.sectionList;
    const list: RawSection[] = [];
    if (this.shoff !== 0n && this.shnum > 0) {
      if (this.shentsize < SHDR_SIZE) {
        throw new ElfFormatError(this.path, `section header entries of ${this.shentsize} bytes (an Elf64_Shdr has ${SHDR_SIZE})`);
      }
      const table = this.read(this.shoff, this.shentsize * this.shnum, 'the section headers');
      const nameOffsets: number[] = [];
      for (let i = 0; i < this.shnum; i++) {
        const p = i * this.shentsize; // Elf64_Shdr
        nameOffsets.push(table.readUInt32LE(p));
        list.push({
          name: '',
          type: table.readUInt32LE(p + 4),
          addr: table.readBigUInt64LE(p + 16),
          offset: table.readBigUInt64LE(p + 24),
          size: table.readBigUInt64LE(p + 32),
          link: table.readUInt32LE(p + 40),
          entsize: table.readBigUInt64LE(p + 56),
        });
      }
      const strtab = list[this.shstrndx];
      if (strtab) {
        const names = this.read(strtab.offset, strtab.size, 'the section names');
        list.forEach((s, i) => (s.name = cString(names, nameOffsets[i]!)));
      }
    }
    this.sectionList = list;
    return list;
  }

  private symbols(): Map<string, SymbolEntry> {
    this.symbolMap ??= parsedSymbols.get(this.identity);
    if (this.symbolMap) return this.symbolMap;
    const map = new Map<string, SymbolEntry>();
    const sections = this.rawSections();
    for (const tableName of ['.symtab', '.dynsym']) {
      const table = sections.find((s) => s.name === tableName);
      const strings = table && sections[table.link];
      if (!table || !strings || table.type === SHT_NOBITS) continue;
      const data = this.read(table.offset, table.size, tableName);
      const names = this.read(strings.offset, strings.size, `${tableName}'s names`);
      const entsize = Number(table.entsize) || SYM_SIZE;
      const ownFirst = new Set<string>();
      for (let p = 0; p + SYM_SIZE <= data.length; p += entsize) {
        const shndx = data.readUInt16LE(p + 6);
        if (shndx === SHN_UNDEF) continue;
        const name = cString(names, data.readUInt32LE(p));
        if (name === '') continue;
        const global = data[p + 4]! >> 4 !== STB_LOCAL;
        const prev = map.get(name);
        // A table fills names the previous one lacked; within a table a global beats a local.
        if (prev && !(ownFirst.has(name) && !prev.global && global)) continue;
        ownFirst.add(name);
        map.set(name, { name, value: data.readBigUInt64LE(p + 8), size: data.readBigUInt64LE(p + 16), global });
      }
    }
    this.symbolMap = map;
    remember(this.identity, map);
    return map;
  }

  /** `length` bytes at `offset`, refused before allocating when the file is too short for them. */
  private read(offset: bigint, length: number | bigint, what: string): Buffer {
    if (this.fd === undefined) throw new Error(`${this.path}: read after close`);
    const size = BigInt(length);
    if (offset + size > this.fileSize) {
      throw new ElfFormatError(this.path, `${what} needs ${size} bytes at byte ${offset} but the file has ${this.fileSize}`);
    }
    const buf = Buffer.alloc(Number(size));
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, offset + BigInt(done));
      if (n === 0) throw new ElfFormatError(this.path, `${what} needs ${size} bytes at byte ${offset} but the file ends at byte ${offset + BigInt(done)}`);
      done += n;
    }
    return buf;
  }
}

/**
 * The load bias of a mapped ELF: runtime address = vaddr + bias. The kernel
 * maps each PT_LOAD at its page-aligned vaddr plus the bias, from its
 * page-aligned file offset; so the mapping with the lowest file offset and the
 * PT_LOAD starting in that page give the bias.
 */
export function loadBias(elf: ElfFile, maps: Mapping[], mappedPath: string): bigint {
  const mine = maps.filter((m) => m.path === mappedPath || m.path === `${mappedPath} (deleted)`);
  if (mine.length === 0) throw new Error(`${mappedPath} is not mapped in the target`);
  const first = mine.reduce((a, b) => (b.offset < a.offset || (b.offset === a.offset && b.start < a.start) ? b : a));
  const loads = elf.segments().filter((s) => s.type === PT_LOAD);
  const seg = loads.find((s) => pageDown(s.offset) === first.offset) ?? loads.find((s) => s.offset === 0n);
  if (!seg) throw new Error(`${elf.path} has no PT_LOAD matching its mapping at offset 0x${first.offset.toString(16)}`);
  return first.start - pageDown(seg.vaddr) - (first.offset - pageDown(seg.offset));
}

function pageDown(x: bigint): bigint {
  return x - (x % PAGE);
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/**
 * Symbol tables already read in this process, by file identity: one command
 * opens the interpreter's ELF several times (describing the target, the
 * stacks layout, the pending-call queue, the fork's flags), and libpython's
 * .symtab (14,000 symbols) took 15-40 ms to read each time.
 */
const parsedSymbols = new Map<string, Map<string, SymbolEntry>>();
const PARSED_KEPT = 8;

let tablesRead = 0;

/** How many symbol tables this process has read from files (the cache's test). */
export function symbolTablesRead(): number {
  return tablesRead;
}

function remember(identity: string, map: Map<string, SymbolEntry>): void {
  tablesRead++;
  parsedSymbols.set(identity, map);
  // Oldest first out: a survey of many processes keeps only the recent files.
  for (const key of parsedSymbols.keys()) {
    if (parsedSymbols.size <= PARSED_KEPT) break;
    parsedSymbols.delete(key);
  }
}

function cString(buf: Buffer, start: number): string {
  if (start >= buf.length) return '';
  const end = buf.indexOf(0, start);
  return buf.toString('latin1', start, end < 0 ? buf.length : end);
}
