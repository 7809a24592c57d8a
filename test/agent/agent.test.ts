/**
 * The agent reads memwhy's request lines by hand (src/agent/agent.py
 * parse_line: no compile() in its thread, no json module): what
 * JSON.stringify writes must come back as the same values, on every CPython
 * here. Round trip: parse_line, then the agent's own JSON writer, then
 * JSON.parse.
 */
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { interpreters } from '../helpers/pythons.js';

const VALUES: unknown[] = [
  { id: 1, method: 'census.census', params: { top: 25, _fork: { timeout_s: 300, keep_tracing: false } } },
  {
    define: 'x',
    pieces: [
      [1, 'def f():\n    return "a\\tb"\n'],
      [4, "x = {'k': [1, 2.5]}\n"],
    ],
  },
  { s: 'quote " backslash \\ slash / controls \b\f\n\r\t \u0001 \u001f', empty: '', list: [], obj: {} },
  { unicode: 'é ünï 中文 \u2028 😀', nested: [[[[{ a: [null, true, false] }]]]] },
  { numbers: [0, -1, 123456789012, 1.5, -0.25, 1e-7, 6.02e23, 2 ** 53] },
  [' spaced ', { ' k ': 'v' }],
];

/** Parses each line with the agent's parse_line and writes it back with its encode. */
const SCRIPT = `
import sys
ns = {'__name__': '__memwhy_agent__'}
exec(compile(open(sys.argv[1]).read(), 'agent.py', 'exec'), ns)
stdout = getattr(sys.stdout, 'buffer', sys.stdout)
lines = getattr(sys.stdin, 'buffer', sys.stdin).read().split(b'\\n')
for line in lines:
    if line:
        out = []
        ns['encode'](ns['parse_line'](line), out)
        # As the agent sends it (send_parts).
        stdout.write(u''.join(out).encode('utf-8', 'backslashreplace') + b'\\n')
stdout.flush()
for bad in (b'{"a": 1', b'[1, 2', b'"open', b'{"a" 1}', b'nope', b'[1] 2'):
    try:
        ns['parse_line'](bad)
        sys.stdout.write('accepted %r\\n' % (bad,))
    except ValueError:
        pass
`;

for (const py of interpreters()) {
  test(`the agent reads back what JSON.stringify writes, and refuses what it does not (${py.label})`, () => {
    const input = VALUES.map((v) => JSON.stringify(v)).join('\n') + '\n';
    const r = spawnSync(py.path, ['-c', SCRIPT, fileURLToPath(new URL('../../src/agent/agent.py', import.meta.url))], { input, timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr.toString());
    const out = r.stdout
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(out.length, VALUES.length, out.join('\n'));
    out.forEach((line, i) => {
      assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(VALUES[i])), `value ${i}`);
    });
  });
}
