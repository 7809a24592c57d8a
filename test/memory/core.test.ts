import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreMemory } from '../../src/memory/core.js';
import { dumpCore } from '../../src/memory/gcore.js';
import { LiveMemory } from '../../src/memory/live.js';
import { MemoryReadError } from '../../src/memory/source.js';
import { readStatus } from '../../src/target/proc.js';
import { UserError } from '../../src/errors.js';
import { knownPattern, startKnownBytes } from './known-bytes.js';
import { tempDir } from '../helpers/tempDir.js';
import { buildCore, note } from '../helpers/coreWriter.js';

test('a core reads dumped memory from its segments and the rest from the files NT_FILE names', () => {
  const dir = tempDir('memwhy-core-');
  try {
    const mapped = join(dir, 'libexample.so');
    const fileBytes = Buffer.alloc(3 * 4096);
    for (let i = 0; i < fileBytes.length; i++) fileBytes[i] = i % 251;
    writeFileSync(mapped, fileBytes);

    const prstatus = (tid: number): Buffer => {
      const d = Buffer.alloc(336);
      d.writeInt32LE(tid, 32);
      return d;
    };
    const prpsinfo = Buffer.alloc(136);
    prpsinfo.writeInt32LE(4242, 24);
    prpsinfo.write('python3\0', 40);
    prpsinfo.write('python3 app.py\0', 56);
    // NT_FILE: one mapping of the file's second and third pages at 0x7000_0000.
    const path = Buffer.from(mapped + '\0');
    const files = Buffer.alloc(16 + 24);
    files.writeBigUInt64LE(1n, 0);
    files.writeBigUInt64LE(4096n, 8);
    files.writeBigUInt64LE(0x7000_0000n, 16);
    files.writeBigUInt64LE(0x7000_2000n, 24);
    files.writeBigUInt64LE(1n, 32);
    const notes = Buffer.concat([note(3, prpsinfo), note(1, prstatus(4242)), note(1, prstatus(4243)), note(0x46494c45, Buffer.concat([files, path]))]);
    const anon = Buffer.from('anonymous memory, dumped'.padEnd(4096, '.'));
    const corePath = join(dir, 'core');
    writeFileSync(
      corePath,
      buildCore([
        { type: 4, vaddr: 0n, memsz: 0, data: notes },
        // Right below the file mapping, so one read can span both.
        { type: 1, vaddr: 0x6fff_f000n, memsz: 4096, data: anon },
        // The file mapping, left out of the core (filesz 0).
        { type: 1, vaddr: 0x7000_0000n, memsz: 0x2000, data: Buffer.alloc(0) },
      ]),
    );

    const core = CoreMemory.open(corePath);
    try {
      assert.equal(core.pid, 4242);
      assert.equal(core.command, 'python3');
      assert.equal(core.args, 'python3 app.py');
      assert.deepEqual(core.threads, [4242, 4243]);
      assert.deepEqual(core.files, [{ start: 0x7000_0000n, end: 0x7000_2000n, offset: 4096n, path: mapped }]);
      assert.equal(core.read(0x6fff_f000n, 24).toString(), 'anonymous memory, dumped');
      assert.deepEqual(core.read(0x7000_0010n, 100), fileBytes.subarray(4096 + 16, 4096 + 116));
      assert.deepEqual(core.read(0x7000_0000n - 8n, 16), Buffer.concat([anon.subarray(4088), fileBytes.subarray(4096, 4104)]), 'a read spanning a dumped segment and a mapped file');
      assert.throws(() => core.read(0x7000_2000n, 1), MemoryReadError);
      assert.throws(() => core.read(0x1000n, 1), MemoryReadError);
      assert.deepEqual(core.mappings()[0]!.path, mapped);
    } finally {
      core.close();
    }

    rmSync(mapped);
    const orphan = CoreMemory.open(corePath);
    try {
      assert.throws(() => orphan.read(0x7000_0010n, 4), /cannot be read/);
    } finally {
      orphan.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that is not a core is a user error', () => {
  assert.throws(
    () => CoreMemory.open('/bin/sh'),
    (err: unknown) => err instanceof UserError && /not a core dump/.test(err.message),
  );
  assert.throws(() => CoreMemory.open('/nonexistent/core'), UserError);
  const dir = tempDir('memwhy-core-');
  try {
    writeFileSync(join(dir, 'text'), 'hello');
    assert.throws(() => CoreMemory.open(join(dir, 'text')), UserError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a gcore'd core holds the same bytes, threads and files as the live process, which keeps running", async () => {
  const { target, address, length } = await startKnownBytes();
  const dir = tempDir('memwhy-core-');
  try {
    const dump = await dumpCore(target.pid, join(dir, 'core'), { timeoutMs: 60_000 });
    assert.ok(dump.bytes > 0);
    assert.doesNotMatch(readStatus(target.pid).state, /^[Tt]/, 'the target runs on after the dump');
    const core = CoreMemory.open(dump.core);
    const live = LiveMemory.open(target.pid);
    try {
      assert.deepEqual(core.read(address, length), knownPattern());
      assert.equal(core.pid, target.pid);
      assert.deepEqual(core.threads, [target.pid]);
      const exe = core.files.find((f) => f.offset === 0n && /python/.test(f.path));
      assert.ok(exe, 'NT_FILE names the interpreter');
      assert.deepEqual(core.read(exe.start, 64), live.read(exe.start, 64));
      assert.equal(core.read(exe.start, 4).toString('latin1'), '\x7fELF');
      assert.ok(core.files.some((f) => /libc\.so/.test(f.path)));
      assert.deepEqual(readFileSync(exe.path).subarray(0, 64), core.read(exe.start, 64));
    } finally {
      core.close();
      live.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await target.kill();
  }
});
