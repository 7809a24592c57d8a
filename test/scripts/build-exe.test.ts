/**
 * `npm run build:exe` (scripts/build-exe.mjs): memwhy as one file, copied
 * where there is no Node, runs ps, stacks, exec and watch against a real
 * Python. The executable runs with PATH holding only gdb: a node it tried to
 * start by name would not be found, and the agent's files, which exec sends
 * into the target, can only come from inside it.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
// @ts-expect-error: a plain ES module without types (as build-viewer.mjs in test/report/diagnosisHtml.test.ts).
import { buildExe, exeBuildUnavailable } from '../../scripts/build-exe.mjs';
import { layoutFor } from '../../src/cpython/layouts.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';
import { startWatch } from '../helpers/watch.js';

const gdb = (process.env.PATH ?? '')
  .split(delimiter)
  .map((d) => join(d, 'gdb'))
  .find((f) => existsSync(f));
const skip = (exeBuildUnavailable() as string | undefined) ?? (gdb ? undefined : 'gdb is not installed (exec attaches with it)');

// The "host": a directory with the copied executable and a bin/ with gdb alone.
const host = tempDir('memwhy-exe-host-');
const exe = join(host, 'memwhy');
const env: NodeJS.ProcessEnv = { PATH: join(host, 'bin'), HOME: host, LANG: 'C.UTF-8' };
let built: { bytes: number; seconds: number } | undefined;

before(async () => {
  if (skip) return;
  const out = tempDir('memwhy-exe-build-');
  const r = (await buildExe({ outDir: out, log: () => {} })) as { file: string; bytes: number; seconds: number };
  copyFileSync(r.file, exe);
  mkdirSync(join(host, 'bin'));
  symlinkSync(gdb!, join(host, 'bin', 'gdb'));
  built = r;
});

function run(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return runCli(exe, args, { cwd: host, env, timeoutMs });
}

// The newest CPython whose layout memwhy reads from memory (stacks needs no agent then).
const python = () =>
  interpreters()
    .filter((p) => layoutFor(p))
    .at(-1)!;

test('npm run build:exe writes one executable that needs no node on PATH', { skip }, (t) => {
  // Size and build time in the test's output (BENCHMARKS.md quotes them); never asserted on.
  t.diagnostic(`memwhy executable: ${(built!.bytes / 2 ** 20).toFixed(1)} MiB, built in ${built!.seconds.toFixed(1)} s (node ${process.version})`);
  assert.ok(statSync(exe).mode & 0o111, 'executable');
  assert.equal(existsSync(join(host, 'bin', 'node')), false);
});

test('the executable lists a Python process with ps', { skip }, async () => {
  const target = await startTarget(python().path, ['idle_sleeper.py']);
  try {
    const r = await run(['ps', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      (JSON.parse(r.stdout) as { processes: { pid: number }[] }).processes.some((p) => p.pid === target.pid),
      r.stdout,
    );
  } finally {
    await target.kill();
  }
});

test("the executable's stacks shows the functions the target's threads are in", { skip }, async () => {
  const target = await startTarget(python().path, ['threads_in_known_functions.py']);
  try {
    const r = await run(['stacks', String(target.pid)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /worker_alpha \(/);
    assert.match(r.stdout, /nested_beta \(/);
  } finally {
    await target.kill();
  }
});

test("the executable's exec runs code in the target with the agent carried inside it", { skip }, async () => {
  const target = await startTarget(python().path, ['idle_sleeper.py']);
  try {
    const r = await run(['exec', String(target.pid), '-c', 'print(6*7)']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '42\n');
  } finally {
    await target.kill();
  }
});

test("the executable's watch serves /metrics and runs itself for diagnose, whose report has the viewer", { skip }, async () => {
  const out = tempDir('memwhy-exe-watch-');
  // 1 MiB every 100 ms against a rule of 2 MiB/s held for 3 s (as test/commands/watch.test.ts).
  const leaker = await startTarget(python().path, ['grow_steadily.py', '1', '100', '1500']);
  const watch = await startWatch(['--pid', String(leaker.pid), '--interval', '500ms', '--diagnose-when', 'growth>2MiB/s for 3s', '--diagnose-duration', '4s', '--out', out], 60_000, {
    command: exe,
    env,
  });
  try {
    let text = '';
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      text = await (await watch.get('/metrics')).text();
      if (text.includes('memwhy_diagnosis_info{') || /the diagnosis failed/.test(watch.stderr())) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(
      text.split('\n').some((l) => l.startsWith('memwhy_process_') && l.includes(`pid="${leaker.pid}"`)),
      text.slice(0, 2000),
    );
    const info = text.split('\n').find((l) => l.startsWith('memwhy_diagnosis_info{'));
    assert.ok(info, `a diagnosis; log:\n${watch.stderr()}`);
    const report = /report="([^"]+)"/.exec(info)![1]!;
    const html = readFileSync(join(out, report, 'report.html'), 'utf8');
    // The viewer bundle (dist/report-viewer.js) is inlined: the page is more than its shell.
    assert.ok(html.length > 50_000, `report.html is ${html.length} bytes`);
    assert.equal(await watch.stop(), 0);
  } finally {
    await watch.stop();
    await leaker.kill();
  }
});
