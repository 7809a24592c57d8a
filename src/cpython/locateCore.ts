/**
 * Finding the interpreter in a core file: which mapped ELF holds CPython's
 * symbols (or the local copy --exe names, checked against the core), and
 * which version it is. The live counterpart is target/python.ts's
 * describePython; both then go on to locate.ts.
 */
import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { CoreInterpreterError } from './coreInterpreter.js';
import type { CoreMemory } from '../memory/core.js';
import { ElfFile } from '../target/elf.js';
import type { Mapping } from '../target/proc.js';
import { classifyImplementation, versionFromExe, versionFromHex, versionFromLibpython, type PythonVersion } from '../target/python.js';

/** The interpreter of a core: the ELF to read symbols from, the path the process mapped it at, its version. */
export interface CoreInterpreter {
  elfPath: string;
  mappedPath: string;
  version: PythonVersion;
}

/** `exe`: a local copy of the interpreter ELF, for a core whose mapped paths do not reach it here. */
export function locateInterpreterInCore(core: CoreMemory, maps: Mapping[], exe: string | undefined): CoreInterpreter {
  const { elfPath, mappedPath } = interpreterInCore(core, maps, exe);
  return { elfPath, mappedPath, version: coreVersion(elfPath, mappedPath) };
}

/**
 * The ELF with the interpreter's symbols among a core's mapped files:
 * libpython when mapped, else the first file that defines
 * PyInterpreterState_Head (every CPython exports it).
 */
function interpreterInCore(core: CoreMemory, maps: Mapping[], exe: string | undefined): { elfPath: string; mappedPath: string } {
  const paths = [...new Set(maps.map((m) => m.path).filter((p) => p.startsWith('/')))];
  const libpython = classifyImplementation('', paths)?.library;
  if (exe !== undefined) {
    // The symbols are in libpython when the process mapped one, else in the executable.
    const wanted = libpython ?? paths.find((p) => basename(p) === basename(exe));
    if (!wanted || basename(wanted) !== basename(exe)) {
      if (libpython) throw new CoreInterpreterError(`${core.path} does not map ${basename(exe)}: the interpreter is ${libpython}`, 'library-copy');
      throw new UserError(`${core.path} does not map ${basename(exe)}: it maps ${paths.slice(0, 3).join(', ')}, ...`);
    }
    checkSameImage(core, maps, wanted, exe);
    return { elfPath: exe, mappedPath: wanted };
  }
  if (libpython) return { elfPath: libpython, mappedPath: libpython };
  for (const path of paths) {
    let elf: ElfFile | undefined;
    try {
      elf = ElfFile.open(path);
      if (elf.symbol('PyInterpreterState_Head')) return { elfPath: path, mappedPath: path };
    } catch {
      // Unreadable here or not ELF: not the interpreter we can use.
    } finally {
      elf?.close();
    }
  }
  throw new CoreInterpreterError(`${core.path} is not a core of a CPython process memwhy can read here: no mapped file defines the interpreter`, 'python-it-ran');
}

/**
 * Refuses an --exe that is not the file the process mapped: its ELF header
 * and program headers must equal those in the core's memory (a different
 * build or version differs there), else every offset would be wrong.
 */
function checkSameImage(core: CoreMemory, maps: Mapping[], mappedPath: string, localPath: string): void {
  const start = maps.filter((m) => m.path === mappedPath && m.offset === 0n)[0]?.start;
  if (start === undefined) return;
  let elf: ElfFile;
  try {
    elf = ElfFile.open(localPath);
  } catch (err) {
    throw new UserError(`cannot read ${localPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let local: Buffer;
  try {
    const header = elf.readAt(elf.segments().find((s) => s.offset === 0n)?.vaddr ?? 0n, 64);
    const phEnd = Number(header.readBigUInt64LE(32)) + header.readUInt16LE(54) * header.readUInt16LE(56);
    // The headers of a real ELF end within its first page or so; a damaged
    // --exe must not make memwhy allocate what its e_phoff claims.
    if (!(phEnd <= 1 << 20)) throw new UserError(`${localPath} has a damaged ELF header (program headers end at byte ${phEnd})`);
    local = elf.readAt(elf.segments().find((s) => s.offset === 0n)?.vaddr ?? 0n, phEnd);
  } finally {
    elf.close();
  }
  let inCore: Buffer;
  try {
    inCore = core.read(start, local.length);
  } catch {
    return; // Neither the core nor this machine has the original bytes: nothing to compare.
  }
  if (!inCore.equals(local)) {
    throw new CoreInterpreterError(`${localPath} is not the ${basename(mappedPath)} the process ran (their ELF headers differ)`, 'same-build');
  }
}

/** Py_Version (3.11+), else the version in libpython's or the executable's name. */
function coreVersion(elfPath: string, mappedPath: string): PythonVersion {
  const elf = ElfFile.open(elfPath);
  try {
    const sym = elf.symbol('Py_Version');
    if (sym) return versionFromHex(elf.readAt(sym.value, 8).readBigUInt64LE(0));
  } finally {
    elf.close();
  }
  const named = versionFromLibpython(mappedPath) ?? versionFromExe(mappedPath) ?? versionFromExe(elfPath);
  if (!named) throw new UserError(`cannot tell which CPython version ${mappedPath} is: it has no Py_Version symbol and its name carries no version`);
  return named;
}
