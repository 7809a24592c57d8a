/**
 * The attach layer end to end, on every CPython on the machine: real targets,
 * real gdb, the real agent, through the real CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';
import { memwhy } from '../helpers/cli.js';
import { agentDirs, fdCount, processState, threadCount, tracerPid } from '../helpers/procfs.js';
import { tempDir } from '../helpers/tempDir.js';
import { waitFor } from '../helpers/expect.js';

/**
 * The standard modules the agent imports directly (documented in
 * src/agent/agent.py); whatever they import in turn differs by version, so
 * the baseline interpreter imports the same ones itself.
 */
const AGENT_IMPORTS =
  'import json, os, socket, traceback, codeop, binascii, marshal\ntry:\n    import _thread\nexcept ImportError:\n    import thread\n' +
  // The channel encodes and decodes text: the codecs load their modules.
  "u'x'.encode('ascii'); b'x'.decode('utf-8'); u'x'.encode('utf-8')\n";

for (const py of interpreters()) {
  describe(`exec on ${py.label}`, () => {
    let target: Target;
    before(async () => {
      target = await startTarget(py.path, ['busy_threads.py'], { privateTmp: true });
    });
    after(() => target.kill());

    test('exec prints what the code prints, and the target keeps working', async () => {
      const progress = async (): Promise<number> => {
        const r = await memwhy(['exec', String(target.pid), '-c', 'import __main__; print(sum(__main__.progress))']);
        assert.equal(r.code, 0, r.stderr);
        return Number(r.stdout.trim());
      };
      const r = await memwhy(['exec', String(target.pid), '-c', 'print(6*7)']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '42\n');
      const first = await progress();
      await new Promise((res) => setTimeout(res, 300));
      const second = await progress();
      assert.ok(second > first, `the target's threads made progress (${first} -> ${second})`);
      assert.ok(target.alive());
      assert.equal(target.stderr(), '', "nothing written to the target's stderr");
    });

    test('an exception gives its traceback and exit code 1', async () => {
      const r = await memwhy(['exec', String(target.pid), '-c', 'x = 1\n{}["missing"]']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /KeyError: .missing./);
      assert.match(r.stderr, /line 2/);
      assert.equal(r.stdout, '');
    });

    test('--file runs a script and --json reports output and outcome', async () => {
      const dir = tempDir('memwhy-exec-test-');
      const script = join(dir, 'probe.py');
      writeFileSync(script, 'import sys\nsys.stdout.write("out\\n")\nsys.stderr.write("err\\n")\n');
      const r = await memwhy(['exec', String(target.pid), '--file', script, '--json']);
      rmSync(dir, { recursive: true, force: true });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { ok: boolean; stdout: string; stderr: string; exception: unknown };
      assert.deepEqual([doc.ok, doc.stdout, doc.stderr, doc.exception], [true, 'out\n', 'err\n', null]);
    });

    test('the agent leaves no thread, fd, directory or unexpected module behind', async () => {
      const listModules = 'import sys; print(" ".join(sorted(sys.modules)))';
      const before1 = await memwhy(['exec', String(target.pid), '-c', listModules]);
      assert.equal(before1.code, 0, before1.stderr);
      // memwhy returns once the agent's thread has ended: no waiting here.
      const threads = threadCount(target.pid);
      const fds = fdCount(target.pid);
      const after1 = await memwhy(['exec', String(target.pid), '-c', listModules]);
      // memwhy waits a bounded time for the thread to end; past it, it says
      // so and returns (src/attach/agentSession.ts). Starved of the CPU by a
      // second heavy job, the thread that busy_threads' eight churners keep
      // from the GIL (2.7's unfair GIL most of all) may need longer: then
      // the thread must still end on its own, as the warning promises.
      if (/agent thread[^\n]* had not ended/.test(after1.stderr)) {
        await waitFor(() => threadCount(target.pid) === threads, 60_000, `the agent's thread to end after memwhy's warning: ${after1.stderr}`);
      }
      assert.equal(threadCount(target.pid), threads, `thread count unchanged; memwhy said: ${after1.stderr}`);
      assert.equal(fdCount(target.pid), fds, 'fd count unchanged');
      assert.deepEqual(agentDirs(target.pid), [], 'no private directory left');
      assert.equal(tracerPid(target.pid), 0, 'not traced');
      assert.notEqual(processState(target.pid), 'T', 'not stopped');
      assert.equal(after1.stdout, before1.stdout, 'a second session imports nothing new');
      const baseline = (await memwhy(['exec', String(target.pid), '-c', 'print(1)'])).code;
      assert.equal(baseline, 0);
      const names = before1.stdout.trim().split(' ');
      const leaked = names.filter((n) => n.startsWith('__memwhy'));
      assert.deepEqual(leaked, [], 'no agent module in sys.modules');
    });
  });
}

describe('modules the agent imports', () => {
  test('a fresh target gains only documented standard modules', async () => {
    for (const py of interpreters()) {
      const target = await startTarget(py.path, ['idle_sleeper.py']);
      try {
        const code = 'import sys\nprint(" ".join(sorted(sys.modules)))';
        // The first session imports what the agent needs; the list printed
        // during it already contains them, so compare with a pristine
        // interpreter's module list read the same way in a second target.
        const r = await memwhy(['exec', String(target.pid), '-c', code]);
        assert.equal(r.code, 0, r.stderr);
        const pristine = await startTarget(
          py.path,
          ['-c', `import sys,time\n${AGENT_IMPORTS}sys.stdout.write(" ".join(sorted(sys.modules))+"\\nready\\n")\nsys.stdout.flush()\ntime.sleep(30)`],
          {},
        );
        const baseline = new Set(pristine.stdout().split('\n')[0]!.split(' '));
        await pristine.kill();
        const added = r.stdout
          .trim()
          .split(' ')
          .filter((m) => !baseline.has(m));
        const unexpected = added;
        assert.deepEqual(unexpected, [], `${py.label}: unexpected modules left: ${unexpected.join(' ')}`);
      } finally {
        await target.kill();
      }
    }
  });
});
