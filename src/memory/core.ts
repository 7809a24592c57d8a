/**
 * A process's memory from an ELF core file (gcore's or the kernel's).
 * PT_LOAD segments hold the dumped memory; ranges a dumper left out (gdb and
 * the kernel skip unmodified file-backed mappings, per coredump_filter) are
 * read from the mapped files the NT_FILE note names.
 *
 * Note and segment layouts: the System V gABI, /usr/include/elf.h and
 * linux/fs/binfmt_elf.c (fill_files_note, elf_prstatus, elf_prpsinfo).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ElfFile, PT_LOAD } from '../target/elf.js';
import type { Mapping } from '../target/proc.js';
import { UserError, isErrno } from '../errors.js';
import { BaseMemorySource, MemoryReadError } from './source.js';

const ET_CORE = 4; // elf.h
const PT_NOTE = 4; // elf.h
const NT_PRSTATUS = 1; // elf.h
const NT_PRPSINFO = 3; // elf.h
const NT_FILE = 0x46494c45; // elf.h: "FILE"
/** struct elf_prstatus (x86_64): pr_pid after siginfo (12), cursig (2+2 pad), sigpend and sighold (8 each). */
const PRSTATUS_PID = 32;
/** struct elf_prpsinfo (x86_64): pr_pid at 24, pr_fname[16] at 40, pr_psargs[80] at 56. */
const PRPSINFO_PID = 24;
const PRPSINFO_FNAME = 40;
const PRPSINFO_PSARGS = 56;

interface LoadSegment {
  vaddr: bigint;
  memsz: bigint;
  offset: bigint;
  filesz: bigint;
}

/** One NT_FILE entry: [start, end) of the address space maps `path` from `offset`. */
export interface CoreFileMapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  path: string;
}

export interface CoreOptions {
  /** Where to find a mapped file named in the core (default: the same path here). */
  resolvePath?: (path: string) => string;
}

export class CoreMemory extends BaseMemorySource {
  /** The dumped process's pid (NT_PRPSINFO), or the first thread's when absent. */
  readonly pid: number;
  /** The process's command name and arguments as the kernel saw them (may be truncated). */
  readonly command: string;
  readonly args: string;
  /** Thread ids, one per NT_PRSTATUS note, in the dumper's order. */
  readonly threads: number[];
  readonly files: CoreFileMapping[];
  private fd: number | undefined;
  /** The core's size: a segment's data past it is missing (a core cut short). */
  private readonly size: bigint;
  private readonly loads: LoadSegment[];
  /** Each mapped file opened so far, with its size (reads past it find nothing), or why it cannot be read. */
  private readonly fileFds = new Map<string, { fd: number; size: bigint } | Error>();
  private readonly resolvePath: (path: string) => string;

  private constructor(
    readonly path: string,
    fd: number,
    loads: LoadSegment[],
    notes: ParsedNotes,
    opts: CoreOptions,
  ) {
    super();
    this.fd = fd;
    this.size = fstatSync(fd, { bigint: true }).size;
    this.loads = loads.sort((a, b) => (a.vaddr < b.vaddr ? -1 : a.vaddr > b.vaddr ? 1 : 0));
    this.files = notes.files;
    this.threads = notes.threads;
    this.pid = notes.pid ?? notes.threads[0] ?? 0;
    this.command = notes.command;
    this.args = notes.args;
    this.resolvePath = opts.resolvePath ?? ((p) => p);
  }

  /** Opens a core file; anything that is not an x86_64 ELF core becomes a UserError. */
  static open(path: string, opts: CoreOptions = {}): CoreMemory {
    let elf: ElfFile;
    try {
      elf = ElfFile.open(path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new UserError(`no such core file: ${path}`);
      throw new UserError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      if (elf.type !== ET_CORE) throw new UserError(`${path} is an ELF file but not a core dump (make one with "memwhy core PID")`);
      const segments = elf.segments();
      const fd = openSync(path, 'r');
      try {
        const size = fstatSync(fd, { bigint: true }).size;
        const loads = segments.filter((s) => s.type === PT_LOAD);
        const notes = parseNotes(segments.filter((s) => s.type === PT_NOTE).map((s) => readExactly(fd, s.offset, s.filesz, size, path)));
        return new CoreMemory(path, fd, loads, notes, opts);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
    } finally {
      elf.close();
    }
  }

  /** The NT_FILE entries as /proc/PID/maps rows, for loadBias and friends (no perms or inodes in a core). */
  mappings(): Mapping[] {
    return this.files.map((f) => ({ start: f.start, end: f.end, perms: '', offset: f.offset, inode: 0, path: f.path }));
  }

  read(address: bigint, length: number): Buffer {
    if (this.fd === undefined) throw new Error(`${this.path}: read after close`);
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const at = address + BigInt(done);
      const n = this.readPiece(at, out, done, length - done);
      if (n === 0) throw new MemoryReadError(address, length, `0x${at.toString(16)} is not in the core or a mapped file`);
      done += n;
    }
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    for (const file of this.fileFds.values()) if (!(file instanceof Error)) closeSync(file.fd);
    this.fileFds.clear();
  }

  /** Copies what one segment or one mapped file holds from `at`; returns the bytes copied (0: nothing there). */
  private readPiece(at: bigint, out: Buffer, outOffset: number, want: number): number {
    const seg = this.segmentAt(at);
    if (seg) {
      const rel = at - seg.vaddr;
      const segLeft = seg.memsz - rel;
      if (rel < seg.filesz) {
        const n = Number(min(BigInt(want), seg.filesz - rel));
        // Checked here, not by readSync: a damaged p_offset past 2^63 makes it throw a RangeError.
        if (seg.offset + rel + BigInt(n) > this.size) throw truncated(this.path);
        readInto(this.fd!, out, outOffset, n, seg.offset + rel, this.path);
        return n;
      }
      // Dumped without contents: the bytes are those of the mapped file.
      return this.readMappedFile(at, out, outOffset, Number(min(BigInt(want), segLeft)));
    }
    return this.readMappedFile(at, out, outOffset, want);
  }

  private readMappedFile(at: bigint, out: Buffer, outOffset: number, want: number): number {
    const file = this.files.find((f) => at >= f.start && at < f.end);
    if (!file) return 0;
    const opened = this.fileFd(file.path);
    if (opened instanceof Error) throw new MemoryReadError(at, want, opened.message);
    const position = file.offset + (at - file.start);
    // Past the end of the file: a mapping may extend beyond it (SIGBUS in the
    // process). Checked before readSync, which throws a RangeError for a
    // position past 2^63 (a damaged NT_FILE offset).
    if (position >= opened.size) return 0;
    const n = Number(min(BigInt(want), file.end - at, opened.size - position));
    return readSync(opened.fd, out, outOffset, n, position);
  }

  private fileFd(path: string): { fd: number; size: bigint } | Error {
    let file = this.fileFds.get(path);
    if (file === undefined) {
      const local = this.resolvePath(path);
      try {
        // A core names files by path: a damaged or hostile one may name a FIFO
        // or a device, where open() or read() would block. O_NONBLOCK and the
        // regular-file check keep memwhy from waiting on them.
        const fd = openSync(local, constants.O_RDONLY | constants.O_NONBLOCK);
        const st = fstatSync(fd, { bigint: true });
        if (st.isFile()) file = { fd, size: st.size };
        else {
          closeSync(fd);
          file = new Error(`the core does not hold it and ${printable(local)} is not a regular file`);
        }
      } catch (err) {
        file = new Error(`the core does not hold it and ${printable(local)} cannot be read (${(err as { code?: string }).code ?? String(err)})`);
      }
      this.fileFds.set(path, file);
    }
    return file;
  }

  private segmentAt(at: bigint): LoadSegment | undefined {
    let lo = 0;
    let hi = this.loads.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.loads[mid]!;
      if (at < s.vaddr) hi = mid - 1;
      else if (at >= s.vaddr + s.memsz) lo = mid + 1;
      else return s;
    }
    return undefined;
  }
}

interface ParsedNotes {
  pid: number | undefined;
  command: string;
  args: string;
  threads: number[];
  files: CoreFileMapping[];
}

/** Walks Elf64_Nhdr records: namesz, descsz, type, then name and desc, each padded to 4 bytes. */
function parseNotes(blocks: Buffer[]): ParsedNotes {
  const notes: ParsedNotes = { pid: undefined, command: '', args: '', threads: [], files: [] };
  for (const buf of blocks) {
    let p = 0;
    while (p + 12 <= buf.length) {
      const namesz = buf.readUInt32LE(p);
      const descsz = buf.readUInt32LE(p + 4);
      const type = buf.readUInt32LE(p + 8);
      const descStart = p + 12 + align4(namesz);
      // A note that claims more than the segment holds ends the walk; with a
      // 32-bit align4, sizes near 2^32 used to wrap negative and loop forever.
      if (descStart + descsz > buf.length) break;
      const desc = buf.subarray(descStart, descStart + descsz);
      p = descStart + align4(descsz);
      if (type === NT_PRSTATUS && desc.length >= PRSTATUS_PID + 4) notes.threads.push(desc.readInt32LE(PRSTATUS_PID));
      else if (type === NT_PRPSINFO && desc.length >= PRPSINFO_PSARGS + 80) {
        notes.pid = desc.readInt32LE(PRPSINFO_PID);
        notes.command = cString(desc.subarray(PRPSINFO_FNAME, PRPSINFO_FNAME + 16));
        notes.args = cString(desc.subarray(PRPSINFO_PSARGS, PRPSINFO_PSARGS + 80)).trim();
      } else if (type === NT_FILE) notes.files.push(...parseFileNote(desc));
    }
  }
  return notes;
}

/** NT_FILE: count, page size, count x {start, end, file offset in pages}, then count NUL-terminated names. */
function parseFileNote(desc: Buffer): CoreFileMapping[] {
  if (desc.length < 16) return [];
  // At most as many entries as the note holds: the count is the file's word, and may be 2^64 - 1.
  const count = Math.min(Number(desc.readBigUInt64LE(0)), Math.floor((desc.length - 16) / 24));
  const pageSize = desc.readBigUInt64LE(8);
  const names = desc
    .subarray(16 + count * 24)
    .toString('utf8')
    .split('\0');
  const out: CoreFileMapping[] = [];
  for (let i = 0; i < count; i++) {
    const p = 16 + i * 24;
    out.push({
      start: desc.readBigUInt64LE(p),
      end: desc.readBigUInt64LE(p + 8),
      offset: desc.readBigUInt64LE(p + 16) * pageSize,
      path: names[i] ?? '',
    });
  }
  return out;
}

/** `length` bytes at `offset`, refused before allocating when the core is too short for them. */
function readExactly(fd: number, offset: bigint, length: bigint, fileSize: bigint, path: string): Buffer {
  if (offset + length > fileSize) throw truncated(path);
  const buf = Buffer.alloc(Number(length));
  readInto(fd, buf, 0, buf.length, offset, path);
  return buf;
}

function truncated(path: string): UserError {
  return new UserError(`${path} is truncated (a core file cut short while being written?)`);
}

function readInto(fd: number, buf: Buffer, at: number, length: number, offset: bigint, path: string): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, at + done, length - done, offset + BigInt(done));
    if (n === 0) throw truncated(path);
    done += n;
  }
}

/** Arithmetic, not `(n + 3) & ~3`: bitwise operators wrap at 2^31. */
function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function min(...xs: bigint[]): bigint {
  return xs.reduce((a, b) => (a < b ? a : b));
}

/**
 * A path from the core, for a message: a damaged or hostile core may name
 * files with newlines or terminal escape sequences, which must not reach the
 * terminal as such.
 */
function printable(path: string): string {
  return path.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}
