import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ElfFile, loadBias } from '../../src/target/elf.js';
import { UserError } from '../../src/errors.js';
import type { Mapping } from '../../src/target/proc.js';
import { seeded } from '../helpers/seeded.js';
import { fuzz, int, mutate, pick, randomBytes, type Rand } from '../helpers/fuzz.js';
import { tempDir } from '../helpers/tempDir.js';

const PYENV = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');

/** A small ELF: the launcher pyenv builds (a dynamic executable linking libpython), or /bin/true. */
const SMALL = [join(PYENV, '3.12.1/bin/python3.12'), '/bin/true'].filter(existsSync);
/** Large ELFs memwhy reads for real: Debian's static python3.11 (.dynsym) and a libpython with a .symtab. */
const LARGE = ['/usr/bin/python3.11', join(PYENV, '2.7.18/lib/libpython2.7.so.1.0')].filter(existsSync);

/** An error the reader may throw: a user error, or the plain errors of ElfFile.open and loadBias, which name the file. */
function allowed(path: string): (err: unknown) => boolean {
  return (err) => err instanceof UserError || (err instanceof Error && err.constructor === Error && err.message.includes(path));
}

/**
 * Everything memwhy asks of an ELF: headers, sections, symbols, the image at
 * a symbol's address, .rodata (where the version string is), the load bias.
 * Each call runs even if an earlier one refused, so a damaged section table
 * does not hide the symbol and segment code; the first error is thrown at the end.
 */
function readAll(path: string, isAllowed: (err: unknown) => boolean): void {
  const elf = ElfFile.open(path);
  const errors: unknown[] = [];
  const attempt = (f: () => unknown): void => {
    try {
      f();
    } catch (err) {
      if (!isAllowed(err)) throw err;
      errors.push(err);
    }
  };
  try {
    attempt(() => elf.segments());
    attempt(() => elf.sections());
    attempt(() => elf.hasSymtab());
    attempt(() => elf.interpreter());
    for (const name of ['Py_Version', '_PyRuntime', 'PyInterpreterState_Head', 'main', '_start']) {
      attempt(() => {
        const sym = elf.symbol(name);
        if (sym) {
          elf.readAt(sym.value, 8);
          elf.readString(sym.value, 64);
        }
      });
    }
    attempt(() => {
      const rodata = elf.section('.rodata');
      if (rodata) elf.sectionData(rodata);
    });
    attempt(() => {
      const maps: Mapping[] = [{ start: 0x555555554000n, end: 0x555555556000n, perms: 'r--p', offset: 0n, inode: 1, path }];
      loadBias(elf, maps, path);
    });
  } finally {
    elf.close();
  }
  if (errors.length > 0) throw errors[0];
}

/** Offsets of the ELF header's table fields, and of every program and section header field that holds a size, offset or count. */
function elfFields(seed: Buffer): [number, 1 | 2 | 4 | 8][] {
  const fields: [number, 1 | 2 | 4 | 8][] = [
    [16, 2],
    [32, 8],
    [40, 8],
    [54, 2],
    [56, 2],
    [58, 2],
    [60, 2],
    [62, 2],
  ];
  const phoff = Number(seed.readBigUInt64LE(32));
  for (let i = 0; i < seed.readUInt16LE(56); i++) {
    const p = phoff + i * 56;
    fields.push([p, 4], [p + 8, 8], [p + 16, 8], [p + 32, 8], [p + 40, 8]);
  }
  const shoff = Number(seed.readBigUInt64LE(40));
  for (let i = 0; i < seed.readUInt16LE(60); i++) {
    const p = shoff + i * 64;
    fields.push([p, 4], [p + 4, 4], [p + 16, 8], [p + 24, 8], [p + 32, 8], [p + 40, 4], [p + 56, 8]);
  }
  return fields.filter(([p, w]) => p + w <= seed.length);
}

interface Patch {
  /** Bytes to write over the seed's, or a length to cut the file to. */
  at: number;
  bytes?: Buffer;
  truncate?: number;
  how: string;
}

/** A change to a large file, small enough to write in place and undo. */
function patchFor(rand: Rand, seed: Buffer, fields: [number, 1 | 2 | 4 | 8][]): Patch {
  const r = rand();
  if (r < 0.1) {
    // Cut near the section headers (at the end) or anywhere.
    const shoff = Number(seed.readBigUInt64LE(40));
    const n = rand() < 0.5 ? shoff + int(rand, seed.length - shoff) : int(rand, seed.length);
    return { at: 0, truncate: n, how: `truncated to ${n} bytes` };
  }
  const [p, width] = pick(rand, fields);
  if (r < 0.7) {
    const value = pick(rand, [0n, 1n, 0xffffn, 0x7fffffffn, 0xffffffffn, 1n << 40n, 0xffffffffffffffffn, BigInt(seed.length), BigInt(seed.length - 1)]);
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(value);
    return { at: p, bytes: bytes.subarray(0, width), how: `u${width * 8} at ${p} = 0x${value.toString(16)}` };
  }
  const bytes = Buffer.from(seed.subarray(p, p + width));
  bytes[int(rand, width)] ^= 1 << int(rand, 8);
  return { at: p, bytes, how: `a bit flipped in the u${width * 8} at ${p}` };
}

test('the ELF reader refuses damaged small ELF files with a clear error and bounded memory', { skip: SMALL.length === 0 }, () => {
  const rand = seeded(0x454c46);
  const dir = tempDir('memwhy-fuzz-elf-');
  const file = join(dir, 'mutant.elf');
  const isAllowed = allowed(file);
  try {
    const seeds = SMALL.map((p) => readFileSync(p));
    function* cases(): Generator<{ bytes: Buffer; how: string }> {
      for (const seed of seeds) {
        const fields = elfFields(seed);
        for (let n = 0; n < 128; n++) yield { bytes: seed.subarray(0, n), how: `truncated to ${n} bytes` };
        for (let k = 0; k < 100; k++) {
          const n = int(rand, seed.length);
          yield { bytes: seed.subarray(0, n), how: `truncated to ${n} bytes` };
        }
        for (let k = 0; k < 700; k++) yield mutate(rand, seed, fields, 4096);
      }
      for (let k = 0; k < 100; k++) {
        // A valid ELF header's first 20 bytes, then random: past the magic and machine checks.
        const bytes = Buffer.concat([seeds[0]!.subarray(0, 20), randomBytes(rand, 4096)]);
        yield { bytes, how: `header + ${bytes.length - 20} random bytes` };
      }
    }
    const tally = fuzz(
      'ELF (small files)',
      cases(),
      (m) => {
        writeFileSync(file, m.bytes);
        readAll(file, isAllowed);
      },
      isAllowed,
      (m) => m.how,
    );
    assert.ok(tally.accepted > 0 && tally.rejected > 0, 'the fuzzing both kept and refused files');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the ELF reader refuses damaged interpreter-sized ELF files (python3.11, libpython2.7) without reading past their end', { skip: LARGE.length === 0 }, () => {
  const rand = seeded(0x454c4632);
  const dir = tempDir('memwhy-fuzz-elf-');
  const file = join(dir, 'mutant.elf');
  const isAllowed = allowed(file);
  try {
    for (const path of LARGE) {
      const seed = readFileSync(path);
      const fields = elfFields(seed);
      writeFileSync(file, seed);
      const fd = openSync(file, 'r+');
      try {
        const patches = Array.from({ length: 150 }, () => patchFor(rand, seed, fields));
        fuzz(
          `ELF (${path.split('/').pop()})`,
          patches,
          (p) => {
            if (p.truncate !== undefined) ftruncateSync(fd, p.truncate);
            else writeSync(fd, p.bytes!, 0, p.bytes!.length, p.at);
            try {
              readAll(file, isAllowed);
            } finally {
              // Undo: write back the seed's bytes.
              if (p.truncate !== undefined) writeSync(fd, seed, p.truncate, seed.length - p.truncate, p.truncate);
              else writeSync(fd, seed, p.at, p.bytes!.length, p.at);
            }
          },
          isAllowed,
          (p) => p.how,
        );
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ELF size fields of 2^40 and 2^64 - 1 are refused before anything that size is allocated', { skip: SMALL.length === 0 }, () => {
  const seed = readFileSync(SMALL[0]!);
  const dir = tempDir('memwhy-fuzz-elf-');
  const file = join(dir, 'huge.elf');
  try {
    const shoff = Number(seed.readBigUInt64LE(40));
    const shstrndx = seed.readUInt16LE(62);
    for (const value of [1n << 40n, 0xffffffffffffffffn, BigInt(seed.length) * 2n]) {
      const bytes = Buffer.from(seed);
      bytes.writeBigUInt64LE(value, shoff + shstrndx * 64 + 32); // the section-name table's sh_size
      writeFileSync(file, bytes);
      const elf = ElfFile.open(file);
      try {
        assert.throws(
          () => elf.sections(),
          (err: unknown) => err instanceof UserError && /truncated or damaged ELF file: the section names needs \d+ bytes at byte \d+ but the file has \d+/.test(err.message),
        );
      } finally {
        elf.close();
      }
    }
    const bytes = Buffer.from(seed);
    bytes.writeUInt16LE(8, 58); // e_shentsize smaller than an Elf64_Shdr: fields would be read past the table
    writeFileSync(file, bytes);
    const elf = ElfFile.open(file);
    try {
      assert.throws(() => elf.sections(), /section header entries of 8 bytes \(an Elf64_Shdr has 64\)/);
    } finally {
      elf.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
