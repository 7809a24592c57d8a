import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { ElfFile } from '../../src/target/elf.js';
import { classifyImplementation, describePython, isSupportedVersion, listPythons, surveyPythons, versionFromExe, versionFromHex, versionFromLibpython } from '../../src/target/python.js';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES, startTarget } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';

const DEBIAN_PYTHON = '/usr/bin/python3.11';

test('the classifier tells CPython, embedded CPython, PyPy and GraalPy apart by file names', () => {
  const lib = '/usr/lib/x86_64-linux-gnu/libc.so.6';
  assert.deepEqual(classifyImplementation('/usr/bin/python3.11', [lib]), { implementation: 'CPython' });
  assert.deepEqual(classifyImplementation('/usr/bin/python3.11 (deleted)', []), { implementation: 'CPython' });
  assert.deepEqual(classifyImplementation('/usr/local/bin/python3.13t', []), { implementation: 'CPython' });
  assert.deepEqual(classifyImplementation('/r/.pyenv/versions/3.6.15/bin/python3.6', ['/r/.pyenv/versions/3.6.15/lib/libpython3.6m.so.1.0', lib]), {
    implementation: 'CPython',
    library: '/r/.pyenv/versions/3.6.15/lib/libpython3.6m.so.1.0',
  });
  assert.deepEqual(classifyImplementation('/usr/bin/uwsgi-core', ['/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0']), {
    implementation: 'CPython',
    library: '/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0',
  });
  assert.equal(classifyImplementation('/usr/bin/pypy3', ['/usr/lib/pypy3.9/bin/libpypy3.9-c.so'])?.implementation, 'PyPy');
  assert.equal(classifyImplementation('/opt/pypy/bin/python', ['/opt/pypy/bin/libpypy3-c.so'])?.implementation, 'PyPy');
  assert.equal(classifyImplementation('/opt/pypy/bin/pypy', [])?.implementation, 'PyPy');
  assert.equal(classifyImplementation('/opt/graalpy/bin/graalpy', [])?.implementation, 'GraalPy');
  assert.equal(classifyImplementation('/opt/graalpy/bin/python', ['/opt/graalpy/lib/libpythonvm.so'])?.implementation, 'GraalPy');
  assert.equal(classifyImplementation('/usr/bin/micropython', [])?.implementation, 'MicroPython');
  assert.equal(classifyImplementation('/usr/bin/sleep', [lib]), undefined);
  assert.equal(classifyImplementation('/usr/bin/python3-config', []), undefined);
  assert.equal(classifyImplementation('/usr/bin/node', ['/usr/lib/libpythonish.so']), undefined);
});

test('versions read from file names and from PY_VERSION_HEX', () => {
  assert.deepEqual(versionFromLibpython('/x/libpython3.9.so.1.0'), { major: 3, minor: 9, text: '3.9' });
  assert.deepEqual(versionFromLibpython('libpython3.6m.so'), { major: 3, minor: 6, text: '3.6' });
  assert.deepEqual(versionFromLibpython('libpython2.7.so.1.0 (deleted)'), { major: 2, minor: 7, text: '2.7' });
  assert.equal(versionFromLibpython('libpython3.so'), undefined);
  assert.deepEqual(versionFromExe('/usr/bin/python3.8'), { major: 3, minor: 8, text: '3.8' });
  assert.deepEqual(versionFromExe('python2.7'), { major: 2, minor: 7, text: '2.7' });
  assert.equal(versionFromExe('/usr/bin/python3'), undefined);
  assert.deepEqual(versionFromHex(0x030b02f0n), { major: 3, minor: 11, micro: 2, text: '3.11.2' });
  assert.equal(versionFromHex(0x030e00a3n).text, '3.14.0a3');
  assert.equal(versionFromHex(0x030d00c1n).text, '3.13.0rc1');
  assert.equal(versionFromHex(0x030c00b2n).text, '3.12.0b2');
});

test('CPython 2.7 and 3.6+ are supported, 2.6 and 3.0-3.5 are not', () => {
  const ok = (major: number, minor: number): boolean => isSupportedVersion({ major, minor });
  assert.deepEqual([ok(2, 6), ok(2, 7), ok(3, 0), ok(3, 5), ok(3, 6), ok(3, 13), ok(3, 14)], [false, true, false, false, true, true, true]);
});

for (const py of interpreters()) {
  test(`describePython gives the exact version of a sleeping ${py.label} (${py.version})`, async () => {
    const target = await startTarget(py.path, ['idle_sleeper.py']);
    try {
      const t = describePython(target.pid);
      assert.equal(t.pid, target.pid);
      assert.equal(t.implementation, 'CPython');
      assert.equal(t.version.text, py.version);
      assert.deepEqual([t.version.major, t.version.minor], [py.major, py.minor]);
      assert.equal(t.versionSource, py.major === 3 && py.minor >= 11 ? 'Py_Version' : 'version-string');
      assert.equal(t.exe, realpathSync(py.path));
      assert.equal(t.root, `/proc/${target.pid}/root`);
      assert.equal(t.nspid, target.pid);
      assert.equal(t.uid, process.getuid!());
      assert.ok(t.user.length > 0);
      assert.ok(t.rss > 1024 * 1024, `rss ${t.rss}`);
      assert.ok(t.threads >= 1);
      assert.ok(Math.abs(Date.now() - t.startTime.getTime()) < 60_000, `start ${t.startTime.toISOString()}`);
      assert.deepEqual(t.cmdline.slice(1), ['-u', 'idle_sleeper.py']);
      if (t.libpython) {
        assert.ok(t.interpreterElf.startsWith(t.root) && t.interpreterElf.endsWith(t.libpython));
      } else {
        assert.equal(t.interpreterElf, `${t.root}${t.exe}`);
      }
      const elf = ElfFile.open(t.interpreterElf);
      try {
        assert.ok(elf.symbol('PyObject_Malloc') ?? elf.symbol('_PyRuntime'), 'the interpreter ELF holds CPython symbols');
      } finally {
        elf.close();
      }
      process.stderr.write(`# ${py.label}: ${t.version.text} from ${t.versionSource}, elf ${t.interpreterElf}\n`);
    } finally {
      await target.kill();
    }
  });
}

test('listPythons finds a sleeping python, and leaves out the tree it is told to skip', async () => {
  const target = await startTarget(interpreters()[0]!.path, ['idle_sleeper.py']);
  try {
    assert.ok(listPythons().some((p) => p.pid === target.pid));
    assert.ok(!listPythons({ excludeTreeOf: process.pid }).some((p) => p.pid === target.pid));
  } finally {
    await target.kill();
  }
});

/** Starts a non-Python program and waits until it has exec'd. */
async function startProgram(path: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(path, args, { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  // spawn fires after fork; give exec a moment to replace the image.
  for (let i = 0; i < 50 && !existsSync(`/proc/${child.pid}/exe`); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
}

function userErrorMatching(re: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof UserError, `a UserError, got ${String(err)}`);
    assert.match(err.message, re);
    return true;
  };
}

test('a process that is not Python is refused with what it runs', async () => {
  const child = await startProgram('sleep', ['30']);
  try {
    assert.throws(() => describePython(child.pid!), userErrorMatching(new RegExp(`^pid ${child.pid} is not a Python process: it runs /usr/bin/sleep$`)));
  } finally {
    await stop(child);
  }
});

test('a pid with no process is refused with "no process"', () => {
  assert.throws(() => describePython(4_194_305), userErrorMatching(/^no process with pid 4194305/));
});

function isKthreadd(pid: number): boolean {
  try {
    return /^Name:\s+kthreadd$/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

test('a kernel thread is refused as a kernel thread', { skip: !isKthreadd(2) }, () => {
  assert.throws(() => describePython(2), userErrorMatching(/is not a Python process: it is the kernel thread/));
});

test('a program named pypy3 is refused as PyPy, and --all style surveys list why', async () => {
  const dir = tempDir('memwhy-pypy-');
  const fake = join(dir, 'pypy3');
  copyFileSync('/usr/bin/sleep', fake);
  const child = await startProgram(fake, ['30']);
  try {
    assert.throws(() => describePython(child.pid!), userErrorMatching(/runs PyPy .*does not support.*CPython 2\.7 or 3\.6/));
    const survey = surveyPythons();
    assert.ok(!survey.accepted.some((p) => p.pid === child.pid));
    assert.match(survey.rejected.find((r) => r.pid === child.pid)?.reason ?? '', /PyPy/);
  } finally {
    await stop(child);
  }
});

test('a CPython older than 3.6 is refused with its version', async () => {
  const dir = tempDir('memwhy-py35-');
  const fake = join(dir, 'python3.5');
  copyFileSync('/usr/bin/sleep', fake);
  const child = await startProgram(fake, ['30']);
  try {
    assert.throws(() => describePython(child.pid!), userErrorMatching(/runs CPython 3\.5, which memwhy does not support/));
  } finally {
    await stop(child);
  }
});

test('a renamed copy of a static CPython 3.11 is still found by its .PyRuntime section', { skip: !existsSync(DEBIAN_PYTHON) }, async () => {
  const dir = tempDir('memwhy-renamed-');
  const renamed = join(dir, 'myservice');
  copyFileSync(DEBIAN_PYTHON, renamed);
  const target = await startTarget(renamed, [join(FIXTURES, 'idle_sleeper.py')]);
  try {
    const t = describePython(target.pid);
    assert.equal(t.version.text, interpreters().find((p) => p.label.startsWith('debian'))?.version);
    assert.equal(t.versionSource, 'Py_Version');
    assert.equal(t.exe, renamed);
  } finally {
    await target.kill();
  }
});

function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

test(
  'a python in another mount namespace is read through /proc/PID/root',
  { skip: !existsSync(DEBIAN_PYTHON) || !canUnshare() ? 'needs unshare -m (root) and /usr/bin/python3.11' : false },
  async () => {
    // In the new namespace a tmpfs covers /mnt, so the binary's path there does not exist here.
    const inside = '/mnt/memwhy-ns-test/python3.11';
    assert.equal(existsSync(inside), false, `${inside} must not exist in the test's namespace`);
    const script = [
      'mount -t tmpfs memwhy-ns /mnt',
      `mkdir -p ${inside.replace(/\/[^/]+$/, '')}`,
      `cp ${DEBIAN_PYTHON} ${inside}`,
      `exec ${inside} -u ${join(FIXTURES, 'idle_sleeper.py')}`,
    ].join(' && ');
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no "ready" from the namespaced python: ${out}`)), 20_000);
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (/^ready$/m.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', () => reject(new Error(`namespaced python exited: ${out}`)));
      });
      // unshare and sh exec, so the child's pid is the python's.
      const t = describePython(child.pid!);
      assert.equal(t.exe, inside);
      assert.equal(t.interpreterElf, `/proc/${child.pid}/root${inside}`);
      assert.equal(t.versionSource, 'Py_Version');
      assert.equal(t.version.major, 3);
      assert.equal(t.version.minor, 11);
      assert.equal(existsSync(inside), false);
    } finally {
      await stop(child);
    }
  },
);
