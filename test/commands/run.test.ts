import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALLOCATORS, locateAllocator, type AllocatorName } from '../../src/collect/allocators.js';
import { memwhy, ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tempDir.js';

const PYTHON = '/usr/bin/python3';

/** Prints the allocator libraries mapped into the Python process itself. */
const SHOW_ALLOCATOR = [
  'import os, re',
  'libs = sorted(set(os.path.basename(l.split()[-1]) for l in open("/proc/self/maps")',
  '             if re.search(r"lib(jemalloc|tcmalloc|mimalloc)", l)))',
  'print("mapped: " + (",".join(libs) or "none"))',
  'print("tunables: " + os.environ.get("GLIBC_TUNABLES", "none"))',
].join('\n');

function installed(name: AllocatorName): boolean {
  try {
    locateAllocator(name);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  // bin/memwhy builds dist/ on first use and says so on stderr; do that outside the tests.
  await memwhy(['--version'], { timeoutMs: 180_000 });
});

describe('memwhy run starts the program under the chosen allocator', () => {
  for (const { name } of ALLOCATORS) {
    test(`under ${name}, the program's own maps show ${name === 'glibc' ? 'no other allocator' : `lib${name}`}`, async (t) => {
      if (!installed(name)) return t.skip(`${name} is not installed`);
      const res = await memwhy(['run', '--allocator', name, '--', PYTHON, '-c', SHOW_ALLOCATOR]);
      assert.equal(res.code, 0, res.stderr);
      const mapped = /^mapped: (.*)$/m.exec(res.stdout)![1]!;
      if (name === 'glibc') assert.equal(mapped, 'none');
      else assert.match(mapped, new RegExp(`^lib${name}`));
      assert.match(res.stderr, new RegExp(`^memwhy: running .* under ${name}`, 'm'));
    });
  }

  test('glibc settings reach the program as GLIBC_TUNABLES', async () => {
    const res = await memwhy(['run', '--arena-max', '2', '--trim-threshold', '128K', '--', PYTHON, '-c', SHOW_ALLOCATOR]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^tunables: glibc\.malloc\.arena_max=2:glibc\.malloc\.trim_threshold=131072$/m);
    assert.match(res.stderr, /under glibc \(GLIBC_TUNABLES=glibc\.malloc\.arena_max=2:glibc\.malloc\.trim_threshold=131072\)/);
  });
});

describe('memwhy run exits as the program did', () => {
  test('with its exit code', async () => {
    const res = await memwhy(['run', '--', PYTHON, '-c', 'import sys; sys.exit(7)']);
    assert.equal(res.code, 7);
  });

  test('with 128 + the signal that killed it', async () => {
    const res = await memwhy(['run', '--', PYTHON, '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)']);
    assert.equal(res.code, 128 + 9);
  });

  test('a command that does not exist is one line naming it', async () => {
    const res = await memwhy(['run', '--', 'no-such-command-memwhy']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^memwhy: command not found: no-such-command-memwhy$/m);
  });
});

/** Starts bin/memwhy with a program that prints "ready" once its signal handlers are set. */
function startRun(program: string): { done: Promise<{ code: number | null; stdout: string }>; ready: Promise<void>; pid: number } {
  const child = spawn(join(ROOT, 'bin', 'memwhy'), ['run', '--', PYTHON, '-u', '-c', program], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (/^ready$/m.test(stdout)) markReady();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<{ code: number | null; stdout: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      markReady();
      resolve({ code, stdout: stdout + stderr });
    }),
  );
  return { done, ready, pid: child.pid! };
}

describe('memwhy run passes signals on to the program', () => {
  test('SIGTERM sent to memwhy reaches the program, and memwhy exits with its code', async () => {
    const run = startRun(
      [
        'import signal, sys, time',
        'def on_term(signum, frame):',
        '    print("program got SIGTERM")',
        '    sys.exit(42)',
        'signal.signal(signal.SIGTERM, on_term)',
        'print("ready")',
        'time.sleep(30)',
      ].join('\n'),
    );
    await run.ready;
    process.kill(run.pid, 'SIGTERM');
    const { code, stdout } = await run.done;
    assert.match(stdout, /program got SIGTERM/);
    assert.equal(code, 42);
  });

  test('SIGUSR1 reaches the program too, and a fatal SIGTERM gives 143', async () => {
    const run = startRun(['import signal, time', 'signal.signal(signal.SIGUSR1, lambda s, f: print("program got SIGUSR1"))', 'print("ready")', 'while True: time.sleep(0.05)'].join('\n'));
    await run.ready;
    process.kill(run.pid, 'SIGUSR1');
    await new Promise((r) => setTimeout(r, 300));
    process.kill(run.pid, 'SIGTERM');
    const { code, stdout } = await run.done;
    assert.match(stdout, /program got SIGUSR1/);
    assert.equal(code, 128 + 15);
  });
});

describe('memwhy run --record', () => {
  const program = 'import time; b = bytearray(64 << 20); time.sleep(1.2)';

  test('writes a CSV of RSS samples taken while the program ran', async () => {
    const file = join(tempDir('memwhy-run-'), 'rss.csv');
    const res = await memwhy(['run', '--record', file, '--interval', '100ms', '--', PYTHON, '-c', program]);
    assert.equal(res.code, 0, res.stderr);
    const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(header, 't_s,rss,rss_anon');
    assert.ok(rows.length >= 5, `${rows.length} samples`);
    const samples = rows.map((r) => r.split(',').map(Number));
    for (const [t, rss, anon] of samples) {
      assert.ok(t! >= 0 && rss! > 0 && anon! > 0 && anon! <= rss!, `sample ${t},${rss},${anon}`);
    }
    assert.ok(
      samples.every((s, i) => i === 0 || s[0]! > samples[i - 1]![0]!),
      'times increase',
    );
    // The 64 MiB bytearray is touched (zeroed) by Python, so it is resident.
    assert.ok(Math.max(...samples.map((s) => s[1]!)) > 64 << 20);
  });

  test('writes JSON when the file name ends in .json', async () => {
    const file = join(tempDir('memwhy-run-'), 'rss.json');
    const res = await memwhy(['run', '--allocator', 'glibc', '--arena-max', '1', '--record', file, '--interval', '100ms', '--', PYTHON, '-c', program]);
    assert.equal(res.code, 0, res.stderr);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      allocator: string;
      env: Record<string, string>;
      exit_code: number;
      columns: string[];
      samples: number[][];
    };
    assert.equal(doc.allocator, 'glibc');
    assert.deepEqual(doc.env, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' });
    assert.equal(doc.exit_code, 0);
    assert.deepEqual(doc.columns, ['t_s', 'rss', 'rss_anon']);
    assert.ok(doc.samples.length >= 5);
  });
});

describe('memwhy run refuses what it cannot do, in one line', () => {
  test('an unknown allocator', async () => {
    const res = await memwhy(['run', '--allocator', 'hoard', '--', PYTHON, '-c', 'pass']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^memwhy: unknown allocator "hoard": choose from glibc, jemalloc, tcmalloc, mimalloc$/m);
  });

  test('glibc settings with another allocator', async (t) => {
    if (!installed('jemalloc')) return t.skip('jemalloc is not installed');
    const res = await memwhy(['run', '--allocator', 'jemalloc', '--arena-max', '2', '--', PYTHON, '-c', 'pass']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^memwhy: --arena-max is a glibc setting: it does nothing under jemalloc$/m);
  });

  test('no command', async () => {
    const res = await memwhy(['run', '--allocator', 'glibc']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /no command given: put it after --/);
  });

  test('--json, since stdout belongs to the program', async () => {
    const res = await memwhy(['run', '--json', '--', PYTHON, '-c', 'pass']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--record FILE\.json/);
    assert.doesNotMatch(res.stderr, /at .*\.js:\d+/);
  });
});
