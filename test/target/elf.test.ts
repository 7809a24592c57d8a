import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, openSync, readSync, closeSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfFile, ET_DYN, ET_EXEC, PT_LOAD, loadBias, symbolTablesRead } from '../../src/target/elf.js';
import { readExe, readMaps } from '../../src/target/proc.js';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';

const DEBIAN_PYTHON = '/usr/bin/python3.11';
const PYENV_LIB = join(process.env.PYENV_ROOT ?? join(process.env.HOME ?? '/root', '.pyenv'), 'versions/3.12.1/lib/libpython3.12.so.1.0');

function hexVersion(major: number, minor: number, micro: number): bigint {
  // Py_Version is PY_VERSION_HEX: 0xMMmmPPLS (Include/patchlevel.h); final releases end in f0.
  return (BigInt(major) << 24n) | (BigInt(minor) << 16n) | (BigInt(micro) << 8n) | 0xf0n;
}

test("Debian's python3.11 executable exports Py_Version and _PyRuntime in .PyRuntime", { skip: !existsSync(DEBIAN_PYTHON) }, () => {
  const elf = ElfFile.open(DEBIAN_PYTHON);
  try {
    assert.equal(elf.type, ET_EXEC);
    assert.equal(elf.hasSymtab(), false, 'Debian strips .symtab: the symbols come from .dynsym');
    const version = elf.symbol('Py_Version');
    assert.ok(version, 'Py_Version');
    assert.equal(version.size, 8n);
    const hex = elf.readAt(version.value, 8).readBigUInt64LE(0);
    assert.equal(hex >> 16n, 0x30bn, `Py_Version 0x${hex.toString(16)} is 3.11`);
    const runtime = elf.symbol('_PyRuntime');
    const section = elf.section('.PyRuntime');
    assert.ok(runtime && section);
    assert.equal(runtime.value, section.addr);
    assert.ok(elf.segments().some((s) => s.type === PT_LOAD && s.offset === 0n));
    assert.equal(elf.interpreter(), '/lib64/ld-linux-x86-64.so.2');
  } finally {
    elf.close();
  }
});

test('a pyenv libpython has a .symtab and its Py_Version names its version', { skip: !existsSync(PYENV_LIB) }, () => {
  const elf = ElfFile.open(PYENV_LIB);
  try {
    assert.equal(elf.type, ET_DYN);
    assert.equal(elf.hasSymtab(), true);
    const version = elf.symbol('Py_Version');
    assert.ok(version);
    assert.equal(elf.readAt(version.value, 8).readBigUInt64LE(0), hexVersion(3, 12, 1));
    // A static function is only in .symtab: proof that .symtab is read.
    assert.ok(elf.symbol('_PyRuntime'));
    assert.equal(elf.symbol('no_such_symbol_anywhere'), undefined);
  } finally {
    elf.close();
  }
});

test('/bin/ls reads as a stripped PIE with no Python symbols', () => {
  const elf = ElfFile.open('/bin/ls');
  try {
    assert.equal(elf.type, ET_DYN);
    assert.equal(elf.symbol('Py_Version'), undefined);
    assert.ok(elf.section('.text'));
    assert.ok(elf.sections().length > 10);
    const rodata = elf.section('.rodata')!;
    assert.deepEqual(elf.readAt(rodata.addr, 16), elf.sectionData(rodata).subarray(0, 16));
    assert.equal(elf.readString(elf.section('.interp')!.addr), '/lib64/ld-linux-x86-64.so.2');
  } finally {
    elf.close();
  }
});

test('a file that is not ELF is refused with a plain error', () => {
  const dir = tempDir('memwhy-elf-');
  const path = join(dir, 'script.py');
  writeFileSync(path, 'print("hello")\n');
  assert.throws(
    () => ElfFile.open(path),
    (err: Error) => err.name === 'Error' && /not an ELF file/.test(err.message),
  );
});

/** The ELF holding the interpreter's symbols in a live process: libpython if mapped, else the executable. */
function symbolElf(pid: number): string {
  const lib = readMaps(pid).find((m) => /\/libpython[\d.]+m?\.so/.test(m.path));
  return lib ? lib.path : readExe(pid);
}

function readMem(pid: number, address: bigint, length: number): Buffer {
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, address);
    return buf;
  } finally {
    closeSync(fd);
  }
}

for (const py of interpreters().filter((p) => p.major === 3 && p.minor >= 7)) {
  test(`load bias puts _PyRuntime inside a mapping of the live process (${py.label})`, async () => {
    const target = await startTarget(py.path, ['idle_sleeper.py']);
    try {
      const path = symbolElf(target.pid);
      const maps = readMaps(target.pid);
      const elf = ElfFile.open(`/proc/${target.pid}/root${path}`);
      try {
        const bias = loadBias(elf, maps, path);
        const runtime = elf.symbol('_PyRuntime');
        assert.ok(runtime, `_PyRuntime in ${path}`);
        const address = runtime.value + bias;
        // Before 3.10 _PyRuntime sits in .bss: past the file-backed pages, in the anonymous
        // mapping the loader adds right after them. Either way it is in the writable image.
        const inside = maps.find((m) => m.start <= address && address < m.end);
        assert.ok(inside, `0x${address.toString(16)} is mapped`);
        assert.match(inside.perms, /^rw/);
        const image = maps.filter((m) => m.path === path);
        assert.ok(inside.path === path || (inside.path === '' && image.some((m) => m.end === inside.start)));
        assert.ok(elf.segments().some((s) => s.type === PT_LOAD && s.vaddr <= runtime.value && runtime.value < s.vaddr + s.memsz));
        const version = elf.symbol('Py_Version');
        if (version) {
          // The constant in memory equals the one in the file: the bias is exact, not just plausible.
          assert.deepEqual(readMem(target.pid, version.value + bias, 8), elf.readAt(version.value, 8));
        }
      } finally {
        elf.close();
      }
    } finally {
      await target.kill();
    }
  });
}

test("a file's locals are told from same-named locals of other files by the STT_FILE symbol before them", { skip: !existsSync(PYENV_LIB) }, () => {
  const elf = ElfFile.open(PYENV_LIB);
  try {
    // `_keywords.2` (the argument clinic's keyword table) is a local of longobject.c, gcmodule.c, iobase.c and fileio.c alike.
    const gc = elf.fileLocals('gcmodule.c').get('_keywords.2');
    const long = elf.fileLocals('longobject.c').get('_keywords.2');
    assert.ok(gc && long, 'both files have the local');
    assert.notEqual(gc.value, long.value);
    assert.equal(elf.fileLocals('no-such-file.c').size, 0);
  } finally {
    elf.close();
  }
});

test('a stripped file has no file locals', () => {
  const elf = ElfFile.open('/bin/ls');
  try {
    assert.equal(elf.fileLocals('ls.c').size, 0);
  } finally {
    elf.close();
  }
});

test('a symbol table read once serves the same file opened again by another path, and never a file replaced since', { skip: !existsSync(PYENV_LIB) || !existsSync(DEBIAN_PYTHON) }, () => {
  const dir = tempDir('memwhy-elf-');
  const file = join(dir, 'libpython.so');
  copyFileSync(PYENV_LIB, file);
  symlinkSync(file, join(dir, 'again.so'));
  const before = symbolTablesRead();
  const first = ElfFile.open(file);
  const again = ElfFile.open(join(dir, 'again.so'));
  const pyenvRuntime = first.symbol('_PyRuntime');
  try {
    assert.ok(pyenvRuntime);
    assert.deepEqual(again.symbol('_PyRuntime'), pyenvRuntime);
    assert.equal(symbolTablesRead(), before + 1, 'the second open read the table again');
  } finally {
    first.close();
    again.close();
  }
  // Another file at the same path (an upgrade in place): its own symbols.
  rmSync(file);
  copyFileSync(DEBIAN_PYTHON, file);
  const replaced = ElfFile.open(file);
  try {
    const now = replaced.symbol('_PyRuntime');
    assert.ok(now);
    assert.notEqual(now.value, pyenvRuntime.value);
    assert.equal(symbolTablesRead(), before + 2);
  } finally {
    replaced.close();
  }
});
