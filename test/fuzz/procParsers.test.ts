import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseMaps, parseSmapsMappings, parseSmapsTotals, parseStat, parseStatus } from '../../src/target/proc.js';
import { classifyImplementation, versionFromExe, versionFromLibpython } from '../../src/target/python.js';
import { classifyMappings, parseMallocInfo, parsePymallocStats } from '../../src/collect/malloc.js';
import { parseBacktraces } from '../../src/collect/native.js';
import { seeded } from '../helpers/seeded.js';
import { fuzz, int, mutate, pick, randomBytes, type Mutant, type Rand } from '../helpers/fuzz.js';

/** The text parsers memwhy runs on /proc files and on text from the target (pymalloc's and glibc's statistics) or gdb. */
const PARSERS: Record<string, (text: string) => unknown> = {
  parseStatus,
  parseMaps,
  // A stat line without its start time is refused (a pid is named by it): that one error, nothing else.
  parseStat: (t) => {
    try {
      return parseStat(t);
    } catch (err) {
      if (err instanceof Error && err.message === 'unreadable /proc/PID/stat: no start time') return null;
      throw err;
    }
  },
  parseSmapsTotals,
  parseSmapsMappings: (t) => classifyMappings(parseSmapsMappings(t)),
  parsePymallocStats,
  parseMallocInfo,
  parseBacktraces,
  classifyImplementation: (t) => classifyImplementation(t.split('\n')[0] ?? '', t.split('\n')),
  versionFromLibpython: (t) => [versionFromLibpython(t), versionFromExe(t)],
};

/** What python3 writes for `code`, stdout then stderr (_debugmallocstats writes to C's stderr); '' without a python3. */
function pythonText(code: string): string {
  const run = spawnSync('python3', ['-c', code], { encoding: 'utf8', timeout: 10_000 });
  return run.status === 0 ? run.stdout + run.stderr : '';
}

/** Real text from this machine: our own /proc files, and pymalloc's and glibc's statistics from a python3. */
function seeds(): Record<string, string> {
  const self = (f: string): string => readFileSync(`/proc/self/${f}`, 'utf8');
  return {
    status: self('status'),
    maps: self('maps'),
    smaps_rollup: self('smaps_rollup'),
    smaps: self('smaps').slice(0, 64 * 1024),
    stat: self('stat'),
    pymalloc: pythonText('import sys; sys._debugmallocstats()'),
    mallocInfo: pythonText(
      [
        'import ctypes, os, sys',
        'libc = ctypes.CDLL(None)',
        'libc.open_memstream.restype = ctypes.c_void_p',
        'buf = ctypes.c_char_p(); size = ctypes.c_size_t()',
        'f = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))',
        'libc.malloc_info(0, ctypes.c_void_p(f)); libc.fclose(ctypes.c_void_p(f))',
        'sys.stdout.write(ctypes.string_at(buf, size.value).decode())',
      ].join('\n'),
    ),
    backtrace: [
      'Thread 2 (Thread 0x7f1c2a5ff6c0 (LWP 4243) "worker"):',
      '#0  0x00007f1c2b0d5e2e in __futex_abstimed_wait_common (...) at ./nptl/futex-internal.c:57',
      '#1  0x00007f1c2b0d8a49 in pthread_cond_timedwait@@GLIBC_2.3.2 () from /lib/x86_64-linux-gnu/libc.so.6',
      '#2  _PyEval_EvalFrameDefault (tstate=0x1) at Python/ceval.c:1000',
      'Thread 1 (Thread 0x7f1c2b3c8740 (LWP 4242) "python3"):',
      '#0  0x00007f1c2b14f1ef in clock_nanosleep () from /lib/x86_64-linux-gnu/libc.so.6',
      '',
    ].join('\n'),
  };
}

/** Text-level damage: a line cut, repeated, dropped or replaced, or one very long line. */
function textMutant(rand: Rand, seed: string): Mutant {
  const lines = seed.split('\n');
  const i = int(rand, lines.length);
  switch (int(rand, 6)) {
    case 0:
      lines[i] = lines[i]!.slice(0, int(rand, lines[i]!.length + 1));
      return { bytes: Buffer.from(lines.join('\n')), how: `line ${i} cut` };
    case 1:
      lines.splice(i, 0, ...Array<string>(1 + int(rand, 200)).fill(lines[i]!));
      return { bytes: Buffer.from(lines.join('\n')), how: `line ${i} repeated` };
    case 2:
      lines.splice(i, 1);
      return { bytes: Buffer.from(lines.join('\n')), how: `line ${i} dropped` };
    case 3: {
      const junk = pick(rand, ['-1', '18446744073709551616', 'NaN', '1e999', '0x', ':', '\0', '\r', '\u2028', 'ÿ', ' kB', '=', ',,,']);
      lines[i] = lines[i]!.replace(/\d+/, junk);
      return { bytes: Buffer.from(lines.join('\n')), how: `a number on line ${i} became ${JSON.stringify(junk)}` };
    }
    case 4: {
      // One line of 64 KiB: what a regex with nested quantifiers would choke on.
      const unit = pick(rand, ['= 1,', '1 ', 'a', ' ', '0-', '<heap nr="1">', '<total type="fast" size="1"/>', ':\t', '#1 ', '(']);
      lines[i] = unit.repeat(Math.ceil(65536 / unit.length));
      return { bytes: Buffer.from(lines.join('\n')), how: `line ${i} is ${JSON.stringify(unit)} x ${Math.ceil(65536 / unit.length)}` };
    }
    default:
      return { bytes: Buffer.from(lines.join('\r\n')), how: 'CRLF line ends' };
  }
}

/** No NaN or negative count may come out as a number: reports would print "NaN MiB". */
function numbersIn(value: unknown, path: string, out: string[]): void {
  if (typeof value === 'number' && Number.isNaN(value)) out.push(path);
  else if (value instanceof Map) for (const [k, v] of value) numbersIn(v, `${path}.${String(k)}`, out);
  else if (Array.isArray(value)) value.forEach((v, i) => numbersIn(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) numbersIn(v, `${path}.${k}`, out);
}

test('the /proc and statistics text parsers return plain data for damaged, truncated and random text, quickly', () => {
  const rand = seeded(0x70726f63);
  const texts = seeds();
  const sources = Object.values(texts).filter((t) => t !== '');
  const nanFields = new Map<string, number>();
  for (const [name, parse] of Object.entries(PARSERS)) {
    function* cases(): Generator<Mutant> {
      for (const seed of sources) {
        const bytes = Buffer.from(seed);
        for (let k = 0; k < 20; k++) yield { bytes: bytes.subarray(0, int(rand, bytes.length + 1)), how: 'truncated' };
        for (let k = 0; k < 30; k++) yield textMutant(rand, seed);
        for (let k = 0; k < 20; k++) yield mutate(rand, bytes);
      }
      for (let k = 0; k < 50; k++) yield { bytes: randomBytes(rand, 2048), how: 'random bytes' };
      // Shapes that made a regex backtrack: quadratic before, seconds at this size.
      for (const unit of ['<heap nr="1">', ' ', '= 1 ', 'a ']) {
        yield { bytes: Buffer.from(unit.repeat((512 * 1024) / unit.length)), how: `512 KiB of ${JSON.stringify(unit)}` };
      }
    }
    fuzz(
      `text parser ${name}`,
      cases(),
      (m) => {
        const found: string[] = [];
        numbersIn(parse(m.bytes.toString('utf8')), name, found);
        for (const f of found) nanFields.set(f.replace(/\[\d+\]/g, '[]'), (nanFields.get(f) ?? 0) + 1);
      },
      () => false,
      (m) => m.how,
    );
  }
  if (nanFields.size > 0) console.log(`fields that came out NaN on damaged text: ${[...nanFields].map(([f, n]) => `${f} (${n})`).join(', ')}`);
  assert.ok(sources.length >= 5, 'the seeds include real /proc text');
  assert.ok(parsePymallocStats(texts.pymalloc!) !== null || texts.pymalloc === '', 'the pymalloc seed parses');
});
