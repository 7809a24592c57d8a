/**
 * A process's memory from an ELF core file (gcore's or the kernel's).
 * PT_LOAD segments hold the dumped memory; ranges a dumper left out (gdb and
 * the kernel skip unmodified file-backed mappings, per coredump_filter) are
 * read from the mapped files the NT_FILE note names.
 *
 * Note and segment layouts: the System V gABI, /usr/include/elf.h and
 * linux/fs/binfmt_elf.c (fill_files_note, elf_prstatus, elf_prpsinfo).
 */
import { closeSync, openSync, readSync } from 'node:fs';
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
  private readonly loads: LoadSegment[];
  private readonly fileFds = new Map<string, number | Error>();
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
        const loads = segments.filter((s) => s.type === PT_LOAD);
        const notes = parseNotes(
          segments.filter((s) => s.type === PT_NOTE).map((s) => readExactly(fd, s.offset, Number(s.filesz), path)),
        );
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
    for (const fd of this.fileFds.values()) if (typeof fd === 'number') closeSync(fd);
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
    const fd = this.fileFd(file.path);
    if (fd instanceof Error) throw new MemoryReadError(at, want, fd.message);
    const n = Number(min(BigInt(want), file.end - at));
    const got = readSync(fd, out, outOffset, n, file.offset + (at - file.start));
    // Past the end of the file: a mapping may extend beyond it (SIGBUS in the process).
    return got;
  }

  private fileFd(path: string): number | Error {
    let fd = this.fileFds.get(path);
    if (fd === undefined) {
      const local = this.resolvePath(path);
      try {
        fd = openSync(local, 'r');
      } catch (err) {
        fd = new Error(`the core does not hold it and ${local} cannot be read (${(err as { code?: string }).code ?? String(err)})`);
      }
      this.fileFds.set(path, fd);
    }
    return fd;
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
  const count = Number(desc.readBigUInt64LE(0));
  const pageSize = desc.readBigUInt64LE(8);
  const names = desc.subarray(16 + count * 24).toString('utf8').split('\0');
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

function readExactly(fd: number, offset: bigint, length: number, path: string): Buffer {
  const buf = Buffer.alloc(length);
  readInto(fd, buf, 0, length, offset, path);
  return buf;
}

function readInto(fd: number, buf: Buffer, at: number, length: number, offset: bigint, path: string): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, at + done, length - done, offset + BigInt(done));
    if (n === 0) throw new UserError(`${path} is truncated (a core file cut short while being written?)`);
    done += n;
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}
