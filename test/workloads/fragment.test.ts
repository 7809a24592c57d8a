import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { interpreters } from '../helpers/pythons.js';
import { ROOT } from '../helpers/cli.js';

const run = promisify(execFile);
const FRAGMENT = join(ROOT, 'workloads', 'fragment.py');

describe('fragment.py runs its busy and quiet phases', () => {
  for (const py of interpreters()) {
    test(`on ${py.label} (${py.version})`, async () => {
      const { stdout } = await run(py.path, [FRAGMENT, '--threads', '2', '--rounds', '4', '--buffers', '2000', '--seconds', '0.2'], {
        timeout: 30_000,
      });
      assert.match(stdout, new RegExp(`^fragment: python ${py.version.replace(/\./g, '\\.')}, 2 threads, 4 requests x 2000 buffers`, 'm'));
      const quiet = /^quiet \([\d.]+ s\): live ([\d.]+) MiB, VmRSS ([\d.]+) MiB/m.exec(stdout);
      assert.ok(quiet, stdout);
      // 4 requests kept 1 record in 50 of 2000 buffers: 160 records, well under 1 MiB.
      assert.ok(Number(quiet[1]) > 0 && Number(quiet[1]) < 1, stdout);
      process.stderr.write(`# fragment.py ran on ${py.label}: ${quiet[0]}\n`);
    });
  }

  test('takes its parameters from the environment too', async () => {
    const { stdout } = await run('/usr/bin/python3', [FRAGMENT], {
      timeout: 30_000,
      env: { ...process.env, FRAGMENT_THREADS: '1', FRAGMENT_ROUNDS: '2', FRAGMENT_BUFFERS: '100', FRAGMENT_SECONDS: '0' },
    });
    assert.match(stdout, /1 threads, 2 requests x 100 buffers, quiet 0\.0 s/);
  });
});
