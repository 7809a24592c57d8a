/**
 * Every bad input to an attaching command gets one clear line and a non-zero
 * exit, never a stack trace, and the target is left running and detached.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { memwhy, ROOT, type CliResult } from '../helpers/cli.js';
import { tracerPid } from '../helpers/procfs.js';
import { assertLeftRunning, assertOneLine, waitFor } from '../helpers/expect.js';
import { tempDir } from '../helpers/tempDir.js';

const python = interpreters().find((p) => p.label.startsWith('debian')) ?? interpreters()[interpreters().length - 1]!;

/** Runs the built CLI directly (no bin/memwhy wrapper) with a chosen environment and user. */
function runCli(args: string[], env: NodeJS.ProcessEnv, asUser?: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], {
      env,
      uid: asUser,
      gid: asUser,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe(`bad input to exec (${python.label})`, () => {
  test('a pid that is not a number', async () => {
    assertOneLine(await memwhy(['exec', 'abc', '-c', 'pass']), /"abc" is not a pid/);
  });

  test('no such process', async () => {
    assertOneLine(await memwhy(['exec', '4194303', '-c', 'pass']), /no process with pid 4194303/);
  });

  test('neither -c nor --file', async () => {
    assertOneLine(await memwhy(['exec', String(process.pid)]), /-c CODE or --file/);
  });

  test('a process that is not Python says what it is', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      assertOneLine(await memwhy(['exec', String(sleeper.pid), '-c', 'pass']), /not a Python process: it runs \/usr\/bin\/sleep/);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  test('another Python implementation is refused by name', async () => {
    const dir = tempDir('memwhy-badinput-');
    const fake = join(dir, 'pypy3');
    copyFileSync('/usr/bin/sleep', fake);
    const child = spawn(fake, ['30']);
    try {
      await new Promise((r) => setTimeout(r, 100));
      assertOneLine(await memwhy(['exec', String(child.pid), '-c', 'pass']), /PyPy/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('gdb asked for but missing gives the install command', async () => {
    const target = await startTarget(python.path, ['idle_sleeper.py'], { privateTmp: true });
    try {
      // A PATH with node but no gdb, as on a host where gdb was never installed.
      const dir = tempDir('memwhy-badinput-');
      symlinkSync(process.execPath, join(dir, 'node'));
      // (Without --transport gdb the memory transport needs no gdb: test/attach/memoryTransport.test.ts.)
      const r = await runCli(['exec', String(target.pid), '-c', 'pass', '--transport', 'gdb'], { PATH: dir });
      assertOneLine(r, /gdb is not installed.*apt-get install gdb/);
      assertLeftRunning(target);
    } finally {
      await target.kill();
    }
  });

  test('permission denied says why', { skip: process.getuid?.() !== 0 && 'needs root to run as another user' }, async () => {
    const target = await startTarget(python.path, ['idle_sleeper.py'], { privateTmp: true });
    try {
      const r = await runCli(['exec', String(target.pid), '-c', 'pass'], { PATH: process.env.PATH }, 65534);
      assertOneLine(r, /permission denied.*same user as the target or as root|permission denied.*target's user or as root/);
      assertLeftRunning(target);
    } finally {
      await target.kill();
    }
  });

  test('a target that never reaches a safe point is left running unharmed', async () => {
    const target = await startTarget(python.path, ['gil_hog.py', '6'], { privateTmp: true });
    try {
      const r = await memwhy(['exec', String(target.pid), '--timeout', '1.5s', '-c', 'print(1)']);
      assertOneLine(r, /did not reach a safe point in 1.5 s.*left running unharmed/);
      assertLeftRunning(target);
      // Once its long C call returns, the same target takes an attach normally.
      await waitFor(() => target.stdout().includes('done'), 20_000);
      const ok = await memwhy(['exec', String(target.pid), '-c', 'print(6*7)']);
      assert.equal(ok.stdout, '42\n', ok.stderr);
    } finally {
      await target.kill();
    }
  });

  test('a target that exits mid-attach is reported as such', async () => {
    const target = await startTarget(python.path, ['gil_hog.py', '1.5', 'exit']);
    const r = await memwhy(['exec', String(target.pid), '--timeout', '20s', '-c', 'print(1)']);
    assertOneLine(r, /exited while memwhy was attaching|no process with pid/);
  });

  test('Ctrl-C while waiting for a safe point detaches and exits 130', async () => {
    const target = await startTarget(python.path, ['gil_hog.py', '8'], { privateTmp: true });
    try {
      const child = spawn(join(ROOT, 'bin', 'memwhy'), ['exec', String(target.pid), '--timeout', '30s', '-c', 'pass'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitFor(() => tracerPid(target.pid) !== 0, 10_000);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.equal(code, 130, stderr);
      assert.match(stderr, /interrupted; pid \d+ was left running, detached/);
      assert.doesNotMatch(stderr, /^\s+at /m);
      assertLeftRunning(target);
    } finally {
      await target.kill();
    }
  });

  test('a second memwhy on the same pid waits, then refuses', async () => {
    const target = await startTarget(python.path, ['idle_sleeper.py'], { privateTmp: true });
    // A shell holds a session open until its stdin closes.
    const shell = spawn(join(ROOT, 'bin', 'memwhy'), ['shell', String(target.pid)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let shellErr = '';
    shell.stderr.on('data', (d: Buffer) => (shellErr += d.toString()));
    try {
      await waitFor(() => shellErr.includes('memwhy shell:'), 20_000);
      const r = await memwhy(['exec', String(target.pid), '--wait', '1s', '-c', 'print(1)']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /another memwhy \(pid \d+\) is attached to pid \d+: try again when it has finished/);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
      shell.stdin.end();
      assert.equal(await new Promise((res) => shell.on('close', res)), 0, shellErr);
      const ok = await memwhy(['exec', String(target.pid), '-c', 'print(6*7)']);
      assert.equal(ok.stdout, '42\n', ok.stderr);
    } finally {
      shell.kill('SIGKILL');
      await target.kill();
    }
  });
});
