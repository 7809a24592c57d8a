/**
 * Finding CPython's globals in a target: the symbols of the interpreter ELF
 * (libpython, or the executable when CPython is linked in statically) plus
 * the load bias, then the layout to read them with.
 */
import { ElfFile, loadBias } from '../target/elf.js';
import type { Mapping } from '../target/proc.js';
import { UserError } from '../errors.js';
import type { MemorySource } from '../memory/source.js';
import { applyDebugOffsets, readDebugOffsets } from './debug-offsets.js';
import { layoutFor, supportedVersions, type Layout } from './layouts.js';

/** Run-time addresses (load bias applied) of the globals a stack reader starts from. */
export interface InterpreterSymbols {
  /** _PyRuntime (3.7+). */
  runtime?: bigint;
  /** The `interp_head` variable (2.7, 3.6). */
  interpHead?: bigint;
  /** The `_PyThreadState_Current` variable (2.7, 3.6): the GIL holder's thread state. */
  currentThreadState?: bigint;
  /** PyCode_Type, to check that a frame's code pointer leads to a code object. */
  codeType?: bigint;
  /** The singletons and the cell type, for --locals. */
  none?: bigint;
  true?: bigint;
  false?: bigint;
  cellType?: bigint;
}

/**
 * The symbols of the interpreter ELF at `elfPath` (a copy of `mappedPath`, the
 * file the process mapped), placed at the process's load bias.
 */
export function readInterpreterSymbols(elfPath: string, maps: Mapping[], mappedPath: string, layout: Layout): InterpreterSymbols {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(elfPath);
  } catch (err) {
    throw new UserError(`cannot read the interpreter ${elfPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return findInterpreterSymbols(elf, loadBias(elf, maps, mappedPath), layout);
  } finally {
    elf.close();
  }
}

export function findInterpreterSymbols(elf: ElfFile, bias: bigint, layout: Layout): InterpreterSymbols {
  const at = (name: string): bigint | undefined => {
    const s = elf.symbol(name);
    return s && s.value + bias;
  };
  const found: InterpreterSymbols = {
    codeType: at('PyCode_Type'),
    none: at('_Py_NoneStruct'),
    true: at('_Py_TrueStruct'),
    false: at('_Py_FalseStruct') ?? at('_Py_ZeroStruct'), // 2.7 names False "Zero"
    cellType: at('PyCell_Type'),
  };
  if (layout.head.kind === 'runtime') {
    found.runtime = at('_PyRuntime');
    if (found.runtime === undefined) {
      throw new UserError(`${elf.path} has no _PyRuntime symbol: memwhy cannot find the interpreter in it`);
    }
  } else {
    found.interpHead = at('interp_head') ?? interpHeadFromAccessor(elf, bias);
    found.currentThreadState = at('_PyThreadState_Current');
    if (found.interpHead === undefined) {
      throw new UserError(`${elf.path} is stripped of the interp_head symbol and its PyInterpreterState_Head does not read it directly: memwhy cannot find the interpreter`);
    }
  }
  return found;
}

/**
 * Stripped 2.7/3.6 builds keep the exported PyInterpreterState_Head(), whose
 * body is `return interp_head;`: on x86_64, `mov interp_head(%rip),%rax`
 * (48 8b 05 + 32-bit displacement from the next instruction) then `ret`.
 */
function interpHeadFromAccessor(elf: ElfFile, bias: bigint): bigint | undefined {
  const fn = elf.symbol('PyInterpreterState_Head');
  if (!fn) return undefined;
  const code = elf.readAt(fn.value, 8);
  if (code[0] !== 0x48 || code[1] !== 0x8b || code[2] !== 0x05 || code[7] !== 0xc3) return undefined;
  return fn.value + 7n + BigInt(code.readInt32LE(3)) + bias;
}

/**
 * Says which version memory cannot be read for and why; `memwhy stacks`
 * falls back to the agent (sys._current_frames() in the target) on it.
 */
export class NoLayoutError extends UserError {
  constructor(
    readonly version: string,
    /** No layout for the version, or a build (free-threaded) whose layout differs. */
    readonly why: 'unknown-version' | 'free-threaded' = 'unknown-version',
    /** The versions memwhy has layouts for, as a phrase. */
    readonly supported: string = supportedVersions(),
  ) {
    super(
      why === 'free-threaded'
        ? `CPython ${version} is a free-threaded build: memwhy reads only builds with a GIL from memory`
        : `memwhy cannot read CPython ${version}'s stacks from memory yet: it knows the layouts of ${supported}`,
    );
  }
}

/**
 * The layout for a version: the table's, then (3.13+) the offsets the
 * interpreter publishes in _Py_DebugOffsets, when its cookie is there.
 */
export function resolveLayout(memory: MemorySource, version: { major: number; minor: number; text: string }, symbols: InterpreterSymbols): Layout {
  const base = layoutFor(version);
  if (!base) throw new NoLayoutError(version.text);
  if (base.major === 3 && base.minor >= 13 && symbols.runtime !== undefined) {
    const debug = readDebugOffsets(memory, symbols.runtime);
    const sameMinor = debug && Number((debug.version >> 16n) & 0xffn) === base.minor;
    if (debug && sameMinor) {
      if (debug.freeThreaded) {
        throw new NoLayoutError(version.text, 'free-threaded');
      }
      return applyDebugOffsets(base, debug);
    }
  }
  return base;
}
