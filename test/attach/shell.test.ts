/** memwhy shell driven through a real pseudo-terminal, as a person would use it. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { ROOT } from '../helpers/cli.js';
import { tracerPid } from '../helpers/procfs.js';

interface Drive {
  transcript: string;
  failed_at: string | null;
  exit: number;
}

function drive(steps: [string, string][], argv: string[]): Promise<Drive> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/python3',
      [join(ROOT, 'test', 'helpers', 'pty_drive.py'), JSON.stringify(steps), ...argv],
      { timeout: 120_000, env: { ...process.env, HOME: '/tmp', TERM: 'dumb' } },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as Drive)),
    );
  });
}

// The oldest and newest interpreters, and Debian's: the shell's logic is in
// the agent, which every version runs through the exec tests too.
const chosen = interpreters().filter((p, i, all) => i === 0 || i === all.length - 1 || p.label.startsWith('debian'));

for (const py of chosen) {
  describe(`shell on ${py.label}`, () => {
    test('a pty session keeps state, takes a block, shows exceptions, and Ctrl-D detaches', async () => {
      const target = await startTarget(py.path, ['idle_sleeper.py']);
      try {
        const r = await drive(
          [
            ['>>> ', 'total = 39\r'],
            ['>>> ', 'for i in range(3):\r'],
            ['\\.\\.\\. ', '    total += i\r'],
            ['\\.\\.\\. ', '\r'],
            ['>>> ', 'total\r'],
            ['42\\s+>>> ', '1/0\r'],
            ['ZeroDivisionError[^\\n]*\\n[\\s\\S]*>>> ', 'import __main__; __main__.__file__.endswith("idle_sleeper.py")\r'],
            ['True\\s+>>> ', '\x04'],
          ],
          [join(ROOT, 'bin', 'memwhy'), 'shell', String(target.pid)],
        );
        assert.equal(r.failed_at, null, `the shell stopped before ${r.failed_at}:\n${r.transcript}`);
        assert.equal(r.exit, 0, r.transcript);
        assert.match(r.transcript, /detached from pid \d+; it is still running/);
        assert.ok(target.alive());
        assert.equal(tracerPid(target.pid), 0);
      } finally {
        await target.kill();
      }
    });
  });
}
