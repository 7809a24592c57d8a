import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CoreMemory } from '../../src/memory/core.js';
import { dumpCore } from '../../src/memory/gcore.js';
import { MemoryReadError } from '../../src/memory/source.js';
import { UserError } from '../../src/errors.js';
import { seeded } from '../helpers/seeded.js';
import { fuzz, int, mutate, pick, type Rand } from '../helpers/fuzz.js';
import { tempDir } from '../helpers/tempDir.js';
import { buildCore, note } from '../helpers/coreWriter.js';

const NT_PRSTATUS = 1;
const NT_PRPSINFO = 3;
const NT_FILE = 0x46494c45;

function allowed(err: unknown): boolean {
  return err instanceof UserError || err instanceof MemoryReadError;
}

/** A small x86_64 core as gcore lays one out: notes (two threads, psinfo, NT_FILE naming `mapped`), a dumped segment, a left-out file mapping. */
function syntheticCore(mapped: string): Buffer {
  const prstatus = (tid: number): Buffer => {
    const d = Buffer.alloc(336);
    d.writeInt32LE(tid, 32);
    return d;
  };
  const prpsinfo = Buffer.alloc(136);
  prpsinfo.writeInt32LE(4242, 24);
  prpsinfo.write('python3\0', 40);
  prpsinfo.write('python3 app.py\0', 56);
  const files = Buffer.alloc(16 + 2 * 24);
  files.writeBigUInt64LE(2n, 0);
  files.writeBigUInt64LE(4096n, 8);
  files.writeBigUInt64LE(0x7000_0000n, 16);
  files.writeBigUInt64LE(0x7000_2000n, 24);
  files.writeBigUInt64LE(1n, 32);
  files.writeBigUInt64LE(0x7000_2000n, 40);
  files.writeBigUInt64LE(0x7000_3000n, 48);
  files.writeBigUInt64LE(0n, 56);
  const notes = Buffer.concat([
    note(NT_PRPSINFO, prpsinfo),
    note(NT_PRSTATUS, prstatus(4242)),
    note(NT_PRSTATUS, prstatus(4243)),
    note(NT_FILE, Buffer.concat([files, Buffer.from(`${mapped}\0${mapped}\0`)])),
  ]);
  const segments = [
    { type: 4, vaddr: 0n, memsz: 0, data: notes },
    { type: 1, vaddr: 0x6fff_f000n, memsz: 4096, data: Buffer.from('anonymous memory, dumped'.padEnd(4096, '.')) },
    { type: 1, vaddr: 0x7000_0000n, memsz: 0x2000, data: Buffer.alloc(0) },
  ];
  return buildCore(segments);
}

/** [start, end) of memory the seed core holds. */
interface Piece {
  start: bigint;
  end: bigint;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

interface Layout {
  fields: [number, 1 | 2 | 4 | 8][];
  /** What is worth reading: each PT_LOAD. */
  addresses: Piece[];
  /** The notes' bytes in the file, for bit flips. */
  notes: [number, number][];
}

/** Where a core's size, offset and count fields are: ELF header, program headers, note headers, NT_FILE's count and entries. */
function layoutOf(core: Buffer): Layout {
  const out: Layout = {
    fields: [
      [32, 8],
      [54, 2],
      [56, 2],
    ],
    addresses: [],
    notes: [],
  };
  const phoff = Number(core.readBigUInt64LE(32));
  for (let i = 0; i < core.readUInt16LE(56); i++) {
    const p = phoff + i * 56;
    out.fields.push([p, 4], [p + 8, 8], [p + 16, 8], [p + 32, 8], [p + 40, 8]);
    const type = core.readUInt32LE(p);
    const offset = Number(core.readBigUInt64LE(p + 8));
    const filesz = Number(core.readBigUInt64LE(p + 32));
    if (type === 1) {
      const start = core.readBigUInt64LE(p + 16);
      out.addresses.push({ start, end: start + core.readBigUInt64LE(p + 40) });
    }
    if (type !== 4) continue;
    out.notes.push([offset, filesz]);
    for (let n = offset; n + 12 <= offset + filesz;) {
      const namesz = core.readUInt32LE(n);
      const descsz = core.readUInt32LE(n + 4);
      out.fields.push([n, 4], [n + 4, 4]);
      const desc = n + 12 + Math.ceil(namesz / 4) * 4;
      if (core.readUInt32LE(n + 8) === NT_FILE) {
        out.fields.push([desc, 8], [desc + 8, 8]);
        const count = Number(core.readBigUInt64LE(desc));
        for (let k = 0; k < count; k++) out.fields.push([desc + 16 + k * 24, 8], [desc + 24 + k * 24, 8], [desc + 32 + k * 24, 8]);
      }
      n = desc + Math.ceil(descsz / 4) * 4;
    }
  }
  out.fields = out.fields.filter(([p, w]) => p + w <= core.length);
  return out;
}

/** Opens the core and reads what stack reading would: metadata, each segment's edges, each mapped file's first bytes, a span across pieces. */
function readAll(path: string, addresses: Piece[], rand: Rand): void {
  const core = CoreMemory.open(path);
  const errors: unknown[] = [];
  const attempt = (f: () => unknown): void => {
    try {
      f();
    } catch (err) {
      if (!allowed(err)) throw err;
      errors.push(err);
    }
  };
  try {
    assert.ok(Number.isInteger(core.pid) && Array.isArray(core.threads), 'pid and threads are plain data');
    core.mappings();
    for (const { start, end } of addresses.filter((x) => x.end - x.start >= 8n)) {
      attempt(() => core.read(start, Number(min(end - start, 8192n))));
      attempt(() => core.read(end - 8n, 8));
    }
    // A mapping may run past its file's end (locale files are a few bytes in a page): only the first bytes must be there.
    for (const f of core.files.slice(0, 16)) attempt(() => core.read(f.start, 8));
    // Most random addresses are in no segment: their errors are checked but do not make a case rejected.
    const before = errors.length;
    for (let k = 0; k < 8; k++) attempt(() => core.read(BigInt(int(rand, 2 ** 47)), 8));
    errors.length = before;
  } finally {
    core.close();
  }
  if (errors.length > 0) throw errors[0];
}

test('the core reader refuses damaged synthetic cores with a user error, and bounds what it reads', () => {
  const rand = seeded(0x636f7265);
  const dir = tempDir('memwhy-fuzz-core-');
  try {
    const mapped = join(dir, 'libexample.so');
    writeFileSync(mapped, Buffer.alloc(3 * 4096, 0x5a));
    const seed = syntheticCore(mapped);
    const layout = layoutOf(seed);
    const file = join(dir, 'core');
    function* cases(): Generator<{ bytes: Buffer; how: string }> {
      for (let n = 0; n < seed.length; n += n < 600 ? 1 : 37) yield { bytes: seed.subarray(0, n), how: `truncated to ${n} bytes` };
      for (let k = 0; k < 3000; k++) yield mutate(rand, seed, layout.fields, 1200);
    }
    const tally = fuzz(
      'core (synthetic)',
      cases(),
      (m) => {
        writeFileSync(file, m.bytes);
        readAll(file, layout.addresses, rand);
      },
      allowed,
      (m) => m.how,
    );
    assert.ok(tally.accepted > 0 && tally.rejected > 0, 'the fuzzing both kept and refused cores');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a note whose sizes wrap a 32-bit alignment is refused rather than walked forever', () => {
  const dir = tempDir('memwhy-fuzz-core-');
  try {
    const seed = syntheticCore('/nonexistent');
    // The first note header: namesz 0xFFFFFFF4 made (n + 3) & ~3 come out -12, so the walk stood still.
    const namesz = layoutOf(seed).notes[0]![0];
    const bytes = Buffer.from(seed);
    bytes.writeUInt32LE(0xfffffff4, namesz);
    bytes.writeUInt32LE(0, namesz + 4);
    writeFileSync(join(dir, 'core'), bytes);
    const core = CoreMemory.open(join(dir, 'core'));
    core.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a core naming a FIFO as a mapped file reads it as unreadable instead of blocking', () => {
  const dir = tempDir('memwhy-fuzz-core-');
  try {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(join(dir, 'core'), syntheticCore(fifo));
    const core = CoreMemory.open(join(dir, 'core'));
    try {
      assert.throws(
        () => core.read(0x7000_0000n, 8),
        (err: unknown) => err instanceof MemoryReadError && /not a regular file/.test(err.message),
      );
    } finally {
      core.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the core reader refuses damaged gcore'd cores of a real process with a user error", async (t) => {
  const dir = tempDir('memwhy-fuzz-core-');
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const path = join(dir, 'sleep.core');
    try {
      await dumpCore(sleeper.pid!, path, { timeoutMs: 60_000 });
    } catch (err) {
      t.skip(`no gcore here: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    sleeper.kill();
    const seed = readFileSync(path);
    const layout = layoutOf(seed);
    const rand = seeded(0x67636f72);
    const fd = openSync(path, 'r+');
    try {
      // Patched in place and undone, so each case costs a few bytes of writing, not a megabyte.
      const patches = Array.from({ length: 2000 }, () => {
        const r = rand();
        if (r < 0.15) {
          const [offset, size] = pick(rand, layout.notes);
          const n = rand() < 0.5 ? offset + int(rand, size) : int(rand, seed.length);
          return { at: n, truncate: true, bytes: Buffer.alloc(0), how: `truncated to ${n} bytes` };
        }
        if (r < 0.4) {
          const [offset, size] = pick(rand, layout.notes);
          const at = offset + int(rand, size);
          const bytes = Buffer.from([seed[at]! ^ (1 << int(rand, 8))]);
          return { at, truncate: false, bytes, how: `a bit flipped in the notes at ${at}` };
        }
        const [at, width] = pick(rand, layout.fields);
        const value = pick(rand, [0n, 1n, 0xfffffff4n, 0xffffffffn, 1n << 40n, 0xffffffffffffffffn, BigInt(seed.length)]);
        const bytes = Buffer.alloc(8);
        bytes.writeBigUInt64LE(value);
        return { at, truncate: false, bytes: bytes.subarray(0, width), how: `u${width * 8} at ${at} = 0x${value.toString(16)}` };
      });
      fuzz(
        'core (gcore of sleep)',
        patches,
        (p) => {
          if (p.truncate) ftruncateSync(fd, p.at);
          else writeSync(fd, p.bytes, 0, p.bytes.length, p.at);
          try {
            readAll(path, layout.addresses.slice(0, 12), rand);
          } finally {
            if (p.truncate) writeSync(fd, seed, p.at, seed.length - p.at, p.at);
            else writeSync(fd, seed, p.at, p.bytes.length, p.at);
          }
        },
        allowed,
        (p) => p.how,
      );
    } finally {
      closeSync(fd);
    }
  } finally {
    sleeper.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
