/**
 * The agent's code is compiled on memwhy's side (src/attach/agentCompiler.ts)
 * by a Python of the target's version, and the target only loads it: on
 * every CPython here a session finds such a Python, its calls work (the
 * modules sent at the start and one sent later, and in a forked child), and
 * with compiling here turned off the agent compiles in the target as before.
 * memwhy runs as root on production hosts: a Python that someone else could
 * have put in place is never run, and one of another version is never used.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpreters } from '../helpers/pythons.js';
import { startTarget, type Target } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';
import { openAgent } from '../../src/attach/agentSession.js';
import { compilerCandidates, parseCompiled } from '../../src/attach/agentCompiler.js';
import { describePython } from '../../src/target/python.js';

const PRECOMPILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'agent', 'precompile.py');

function versionOf(python: string): string {
  return execFileSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
}

for (const py of interpreters()) {
  describe(`the agent's code for ${py.label} (${py.version})`, () => {
    let target: Target;
    before(async () => {
      target = await startTarget(py.path, ['idle_deep_sleep.py', 'event']);
    });
    after(() => target.kill());

    test('is compiled here by a Python of its version, and its calls work in the target and in a child', async () => {
      const session = await openAgent(target.pid);
      try {
        assert.ok(session.compiledBy, 'a compiler was found');
        assert.equal(versionOf(session.compiledBy), `${py.major}.${py.minor}`, `${session.compiledBy} is the target's version`);
        const ping = await session.call<{ pid: number; python: number[] }>('agent.ping');
        assert.equal(ping.python.slice(0, 2).join('.'), `${py.major}.${py.minor}`);
        // gcstate is not among the modules sent at the start: it arrives later, as a file of marshal data.
        const gc = await session.call<{ enabled: boolean }>('gcstate.state');
        assert.equal(gc.enabled, true);
        const census = await session.call<{ total: { count: number }; snapshot?: { forked: boolean } }>('census.census', { top: 5 }, { fork: true });
        assert.ok(census.total.count > 1000, `census counted ${census.total.count} objects`);
        assert.notEqual(census.snapshot?.forked, false, `the census ran in a child: ${JSON.stringify(census.snapshot)}`);
      } finally {
        await session.close();
      }
      assert.ok(target.alive(), target.stderr());
      assert.equal(target.stderr(), '', 'nothing printed into the program');
    });

    test('is compiled in the target when memwhy is told not to compile it here', async () => {
      process.env.MEMWHY_COMPILE_IN_TARGET = '1';
      try {
        const session = await openAgent(target.pid);
        try {
          assert.equal(session.compiledBy, undefined);
          const gc = await session.call<{ enabled: boolean }>('gcstate.state');
          assert.equal(gc.enabled, true);
        } finally {
          await session.close();
        }
      } finally {
        delete process.env.MEMWHY_COMPILE_IN_TARGET;
      }
    });
  });
}

describe('which Pythons compile the agent', () => {
  const all = interpreters();
  const py = all.find((p) => p.major === 3 && p.path.includes('.pyenv')) ?? all[0]!;
  let target: Target;
  before(async () => {
    target = await startTarget(py.path, ['idle_deep_sleep.py', 'event']);
  });
  after(() => target.kill());

  test("the target's own executable first, then others of its version; never one another user could have replaced", () => {
    const t = describePython(target.pid);
    const name = `python${py.major}.${py.minor}`;
    const dir = tempDir('memwhy-compilers-');
    const mine = join(dir, 'mine');
    const open = join(dir, 'open');
    const theirs = join(dir, 'theirs');
    for (const d of [mine, open, theirs]) {
      mkdirSync(d);
      copyFileSync(py.path, join(d, name));
      chmodSync(join(d, name), 0o755);
    }
    chmodSync(open, 0o777);
    chownSync(join(theirs, name), 65534, 65534);
    const found = compilerCandidates(t, { PATH: [open, theirs, mine].join(':') });
    assert.equal(found[0], t.exe, "the target's executable comes first");
    assert.ok(found.includes(join(mine, name)), `a copy in a directory only its owner writes is used: ${found.join(', ')}`);
    assert.ok(!found.includes(join(open, name)), 'not one in a directory anyone can write');
    assert.ok(!found.includes(join(theirs, name)), 'not one another user owns');
  });

  test('a Python of another version refuses, and one of the right version hands back code the target can run', () => {
    const source = 'def f(x):\n    return x * 6\n\nANSWER = f(7)\n';
    const input = Buffer.concat([Buffer.from(`m\n${Buffer.byteLength(source)}\n`), Buffer.from(source)]);
    const wrong = spawnSync(py.path, ['-E', '-s', '-S', PRECOMPILE, String(py.major), String(py.minor + 1), ''], { input });
    assert.equal(wrong.status, 3, wrong.stderr.toString());
    const pre = spawnSync(py.path, ['-E', '-s', '-S', PRECOMPILE, String(py.major), String(py.minor), `${py.version}rc1`], { input });
    assert.equal(pre.status, 3, 'a final release does not compile for a pre-release');
    const right = spawnSync(py.path, ['-E', '-s', '-S', PRECOMPILE, String(py.major), String(py.minor), ''], { input });
    assert.equal(right.status, 0, right.stderr.toString());
    const data = parseCompiled(right.stdout).get('m');
    assert.ok(data);
    const ran = execFileSync(py.path, ['-c', 'import marshal, sys\nname, code = marshal.loads(sys.stdin.buffer.read())\nns = {}\nexec(code, ns)\nprint(name, ns["ANSWER"])'], {
      input: data,
      encoding: 'utf8',
    });
    assert.equal(ran.trim(), 'm 42');
  });
});
