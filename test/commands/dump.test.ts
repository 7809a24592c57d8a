import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';
import { memwhy, runCli, ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tempDir.js';

before(async () => {
  await memwhy(['--version'], { timeoutMs: 180_000 });
});

for (const py of interpreters()) {
  describe(`memwhy dump on ${py.label} (${py.version})`, () => {
    let target: Target;
    before(async () => {
      // A /tmp of its own: the dump is copied across file systems, as from a container.
      target = await startTarget(py.path, ['leak_session_cache.py'], { privateTmp: true });
    });
    after(() => target.kill());

    test('dump writes a file that analyze reads, and the target runs on', async (t) => {
      const dir = tempDir('memwhy-dump-');
      const file = join(dir, 'heap.mwd');
      const r = await memwhy(['dump', String(target.pid), '-o', file, '--json'], { timeoutMs: 180_000 });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { file: string; objects: number; pause_ms: number; bytes: number; snapshot?: { forked: boolean; fork_ms?: number } };
      t.diagnostic(`${py.label}: ${doc.objects} objects, ${doc.bytes} bytes, held ${doc.pause_ms} ms, snapshot ${JSON.stringify(doc.snapshot)}`);
      assert.equal(doc.file, file);
      // Written by a copy-on-write child: what held the target is the fork, not the child's walk.
      assert.equal(doc.snapshot?.forked, true);
      assert.equal(doc.pause_ms, doc.snapshot?.fork_ms);
      assert.deepEqual(readdirSync(dir), ['heap.mwd'], 'no .tmp left beside it');
      const a = await memwhy(['analyze', file, '--json', '--top', '100']);
      assert.equal(a.code, 0, a.stderr);
      const analysis = JSON.parse(a.stdout) as {
        summary: { pid: number };
        retainers: { name: string; kind: string; bytes: number; largest: { type: string }[] }[];
      };
      assert.equal(analysis.retainers[0]!.name, 'module __main__ `_SESSIONS`');
      // memwhy is not in the program's answer: its module registry (what
      // every module of the agent refers to) is counted under the agent.
      const agent = analysis.retainers.find((r) => r.kind === 'agent');
      t.diagnostic(
        `${py.label}: the agent holds ${agent?.bytes} bytes; ${JSON.stringify(
          analysis.retainers
            .filter((r) => r.kind !== 'agent')
            .flatMap((r) => r.largest.map((p) => p.type))
            .filter((type) => type.startsWith('__memwhy_')),
        )}`,
      );
      assert.ok(agent, 'no group for the agent');
      assert.ok(
        agent.largest.some((p) => p.type === '__memwhy_agent__._Modules'),
        `the agent's registry is not under the agent: ${JSON.stringify(agent.largest)}`,
      );
      for (const r of analysis.retainers.filter((r) => r.kind !== 'agent')) {
        for (const p of r.largest) assert.ok(!p.type.startsWith('__memwhy_'), `${r.name} holds memwhy's ${p.type}`);
      }
      assert.ok(target.alive());
      assert.equal(target.stderr(), '');
    });

    test('dump without -o says what to give', async () => {
      const r = await memwhy(['dump', String(target.pid)]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, 'memwhy: give the file to write with -o FILE, as in "memwhy dump 4242 -o heap.mwd"\n');
    });

    test('dump to a directory that does not exist fails in one line, before attaching', async () => {
      const file = join(tmpdir(), 'memwhy-no-such-dir', 'heap.mwd');
      const r = await memwhy(['dump', String(target.pid), '-o', file]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^memwhy: cannot write .*heap\.mwd: .*memwhy-no-such-dir does not exist\n$/);
      assert.ok(!existsSync(file));
    });
  });
}

test('dump --help says the heap is walked by a copy-on-write child, not at a second per million objects', async () => {
  const r = await memwhy(['dump', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.replace(/\s+/g, ' '), /copy-on-write child of the target .* held only for the fork/);
  assert.doesNotMatch(r.stdout, /second per million/);
});

test(
  'dump and diagnose --dump into a directory memwhy cannot write fail in one line, before attaching',
  { skip: process.getuid?.() !== 0 && 'needs root to run as another user' },
  async () => {
    // A directory only root may write, and memwhy run as nobody: the check
    // comes before attaching (here to this test's own process, never reached).
    const dir = tempDir('memwhy-dump-ro-');
    chmodSync(dir, 0o755);
    for (const args of [
      ['dump', String(process.pid), '-o', join(dir, 'heap.mwd')],
      ['diagnose', String(process.pid), '--dump', join(dir, 'heap.mwd')],
    ]) {
      const r = await runCli(join(ROOT, 'bin', 'memwhy'), args, { env: { PATH: process.env.PATH }, uid: 65534 });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^memwhy: cannot write .*heap\.mwd: .*memwhy-dump-ro-\w+ is not writable\n$/, args[0]);
    }
  },
);
