import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knownPattern, startKnownBytes } from './known-bytes.js';
import { LiveMemory } from '../../src/memory/live.js';
import { MemoryReadError } from '../../src/memory/source.js';
import { UserError } from '../../src/errors.js';

test('live memory reads the bytes a process holds, across a page boundary', async () => {
  const { target, address, length } = await startKnownBytes();
  const memory = LiveMemory.open(target.pid);
  try {
    assert.deepEqual(memory.read(address, length), knownPattern());
    assert.equal(memory.readU32(address), 0xdeadbeef);
    assert.equal(memory.readI32(address + 4n), -42);
    assert.equal(memory.readU64(address + 8n), 0x0123456789abcdefn);
    assert.equal(memory.readPtr(address + 8n), 0x0123456789abcdefn);
    assert.equal(memory.readU16(address), 0xbeef);
    assert.equal(memory.readU8(address), 0xef);
    assert.equal(memory.readI64(address), BigInt.asIntN(64, 0xffffffd6deadbeefn));
  } finally {
    memory.close();
    await target.kill();
  }
});

test('live memory turns unmapped and out-of-range addresses into MemoryReadError', async () => {
  const { target } = await startKnownBytes();
  const memory = LiveMemory.open(target.pid);
  try {
    assert.throws(() => memory.read(0n, 8), MemoryReadError);
    // Above 2^53 (a Number would round it) and in the kernel's half.
    assert.throws(() => memory.read(0xffff_ffff_ffff_f000n, 8), MemoryReadError);
    assert.throws(() => memory.read(0x0020_0000_0000_0001n, 8), MemoryReadError);
  } finally {
    memory.close();
    await target.kill();
  }
});

test('live memory of a pid that does not exist is a user error', () => {
  assert.throws(() => LiveMemory.open(2 ** 22 + 12345), UserError);
});
