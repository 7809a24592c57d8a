import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { analyzeHeap, diffHeaps, groupHeap } from '../../src/analyze/retainers.js';
import { NodeKind, readDump } from '../../src/heap/dumpFile.js';
import { interpreters } from '../helpers/pythons.js';
import { ROOT } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';

const run = promisify(execFile);
const RUNNER = join(ROOT, 'test', 'helpers', 'run_agent_module.py');
const AGENT = join(ROOT, 'src', 'agent');
const FIXTURE = join(FIXTURES, 'leak_session_cache.py');
const SESSIONS = 'module leak_session_cache `_SESSIONS`';

interface DumpResult {
  path: string;
  objects: number;
  edges: number;
  bytes: number;
  pause_ms: number;
  objects_per_s: number;
}

/** Runs agent calls (and fixture.* calls) one after another in one python; returns each result. */
async function calls(python: string, steps: [string, Record<string, unknown>][], fixture = FIXTURE): Promise<unknown[]> {
  const args = [RUNNER, AGENT, '--setup', fixture, ...steps.flatMap(([m, p]) => [m, JSON.stringify(p)])];
  let stdout: string;
  try {
    ({ stdout } = await run(python, args, { timeout: 180_000, maxBuffer: 1 << 24 }));
  } catch (err) {
    const e = err as { message: string; stderr?: string; signal?: string };
    throw new Error(`${e.message.split('\n')[0]} (signal ${e.signal ?? 'none'}): ${e.stderr ?? ''}`, { cause: err });
  }
  return stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { result: unknown }).result);
}

describe('the heap dump of a module-global cache gives its true retained size', () => {
  for (const py of interpreters()) {
    test(`on ${py.label} (${py.version})`, async (t) => {
      const dir = tempDir('memwhy-heapdump-');
      const path = join(dir, 'heap.mwd');
      const before = (await calls(py.path, [['fixture.interpreter_state', {}]]))[0] as { switch: number; modules: string[] };
      const [dumped, truth, after] = (await calls(py.path, [
        ['heapdump.dump', { path }],
        ['fixture.true_retained', {}],
        ['fixture.interpreter_state', {}],
      ])) as [DumpResult, { bytes: number; count: number }, { gc_enabled: boolean; switch: number; modules: string[] }];

      assert.equal(dumped.path, path);
      assert.ok(existsSync(path) && !existsSync(path + '.tmp'), 'written atomically');
      assert.deepEqual([after.gc_enabled, after.switch], [true, before.switch], 'the collector and the switch interval are as they were');
      const added = after.modules.filter((m) => !before.modules.includes(m));
      // Standard modules the writer imports (array imports collections.abc on 3.10+).
      const stdlib = ['array', 'struct', '_struct', 'itertools', 'operator', 'json', 'types', 'collections', 'collections.abc'];
      assert.ok(
        added.every((m) => stdlib.includes(m) || m.startsWith('json.')),
        `modules added: ${added}`,
      );

      const dump = readDump(path);
      assert.equal(dump.nodeCount, dumped.objects);
      assert.ok(dump.droppedEdges < 50, `${dump.droppedEdges} references to the dump's own objects`);
      const labels = [...dump.nodeLabels.values()];
      assert.ok(labels.some((l) => l.kind === NodeKind.module && l.text === 'leak_session_cache'));
      assert.ok(labels.some((l) => l.kind === NodeKind.class && l.text === 'leak_session_cache.Session'));
      assert.ok(
        labels.some((l) => l.kind === NodeKind.frame && l.text.startsWith('main (')),
        "the main thread's frames are roots",
      );
      // The dump's own frames carry its module's file name (memwhy/heapdump.py
      // in the agent, .../src/agent/heapdump.py here); the fixture's frames
      // carry the checkout's path, which may itself contain "memwhy".
      const own = labels.filter((l) => l.kind === NodeKind.frame && /(^|\/|\()heapdump\.py[:)]|\(memwhy\//.test(l.text));
      assert.deepEqual(
        own.map((l) => l.text),
        [],
        "the dump's own frames are not",
      );

      const analysis = analyzeHeap(dump, groupHeap(dump), { top: 5 });
      const cache = analysis.retainers[0]!;
      assert.equal(cache.name, SESSIONS);
      const error = (cache.retained_bytes - truth.bytes) / truth.bytes;
      t.diagnostic(
        `${py.label}: ${dumped.objects} objects, ${dumped.edges} references, ${(dumped.bytes / 2 ** 20).toFixed(1)} MiB file, ` +
          `paused ${dumped.pause_ms} ms; _SESSIONS retains ${cache.retained_bytes} B in ${cache.retained_count} objects, ` +
          `true ${truth.bytes} B in ${truth.count} (${(100 * error).toFixed(3)}%)`,
      );
      assert.ok(Math.abs(error) <= 0.05, `retained ${cache.retained_bytes} vs true ${truth.bytes}`);
      assert.ok(Math.abs(cache.retained_count - truth.count) <= 0.05 * truth.count);
      assert.ok(cache.types.some((x) => x.type === 'leak_session_cache.Session' || x.type === 'bytes' || x.type === 'str'));
      assert.ok(
        cache.largest.every((p) => p.type === 'leak_session_cache.Session' || p.type === 'str'),
        JSON.stringify(cache.largest),
      );
    });
  }
});

describe('the heap dump lets a thread spinning in pure Python run and never raises its switch interval', () => {
  for (const py of interpreters()) {
    test(`on ${py.label} (${py.version})`, async () => {
      const dir = tempDir('memwhy-heapdump-');
      type Progress = { count: number; during: number; interval_during: number | null; interval: number };
      const [started, dumped, , p] = (await calls(
        py.path,
        [
          ['fixture.start', {}],
          ['heapdump.dump', { path: join(dir, 'a.mwd') }],
          ['heapdump.dump', { path: join(dir, 'b.mwd') }],
          ['fixture.stop', {}],
        ],
        join(FIXTURES, 'spinning_thread.py'),
      )) as [{ interval: number }, DumpResult, DumpResult, Progress];
      process.stderr.write(`# ${py.label}: ${dumped.objects} objects; spinner ran ${p.during} of ${p.count} iterations during two dumps, saw interval ${p.interval_during}\n`);
      assert.ok(p.during > 0, 'the spinning thread made no progress while the dump walked the heap');
      assert.equal(p.interval_during, started.interval);
      assert.equal(p.interval, started.interval);
    });
  }
});

describe('two dumps of one process show the growth between them', () => {
  const all = interpreters();
  for (const py of [all[0]!, all[all.length - 1]!]) {
    test(`on ${py.label} (${py.version})`, async (t) => {
      const dir = tempDir('memwhy-heapdump-');
      await calls(py.path, [
        ['heapdump.dump', { path: join(dir, 'a.mwd') }],
        ['fixture.grow', { n: 5000 }],
        ['heapdump.dump', { path: join(dir, 'b.mwd') }],
      ]);
      const a = readDump(join(dir, 'a.mwd'));
      const b = readDump(join(dir, 'b.mwd'));
      const d = diffHeaps(a, groupHeap(a), b, groupHeap(b), { top: 5 });
      t.diagnostic(`${py.label}: ${d.finding.summary}; new ${d.new_objects.count} objects, ${d.new_objects.bytes} B`);
      assert.equal(d.finding.status, 'issue');
      assert.equal(d.new_by_holder[0]!.name, SESSIONS);
      const sessions = d.new_by_type.find((x) => x.type === 'leak_session_cache.Session');
      assert.equal(sessions?.count, 5000);
      const change = d.holders.find((h) => h.name === SESSIONS)!;
      // 5,000 more sessions: a quarter more than the 20,000 before, give or take the dict's resize.
      assert.ok(change.delta_bytes > 0.2 * change.before_bytes && change.delta_bytes < 0.35 * change.before_bytes, JSON.stringify(change));
    });
  }
});
