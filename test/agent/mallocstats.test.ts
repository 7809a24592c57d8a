/**
 * src/agent/mallocstats.py in every CPython on the machine, run the way the
 * agent runs it (exec'd into a fresh dict), without attaching: both ways of
 * capturing pymalloc's statistics agree and leave fds and stderr as they were.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parsePymallocStats } from '../../src/collect/malloc.js';
import { ROOT } from '../helpers/cli.js';
import { interpreters } from '../helpers/pythons.js';

const run = promisify(execFile);
const MODULE = join(ROOT, 'src', 'agent', 'mallocstats.py');

// Loads the module as the agent does and calls both capture paths (2.7 has
// neither: no sys._debugmallocstats), then collect and trim.
const PROBE = `
import json, os, sys
ns = {'__name__': '__memwhy_mallocstats__', '_load': None}
exec(compile(open(sys.argv[1]).read(), 'mallocstats.py', 'exec'), ns)
fds = sorted(os.listdir('/proc/self/fd'))
has_stats = hasattr(sys, '_debugmallocstats')
via_stderr = ns['_pymalloc_via_stderr']() if has_stats else ''
via_memstream = ns['_pymalloc_via_memstream']() if has_stats else ''
collected = ns['collect']('glibc')
trimmed = ns['trim']('glibc', True)
sys.stdout.write(json.dumps({
    'via_stderr': via_stderr, 'via_memstream': via_memstream,
    'fds_same': sorted(os.listdir('/proc/self/fd')) == fds,
    'collect_unknown': collected['python'].get('unknown'),
    'mallinfo': collected['allocator'].get('mallinfo_call'),
    'trim': trimmed['call'], 'trim_result': trimmed['result'],
}))
`;

interface ProbeResult {
  via_stderr: string;
  via_memstream: string;
  fds_same: boolean;
  collect_unknown: string | null;
  mallinfo: string | null;
  trim: string;
  trim_result: number;
}

describe('mallocstats agent module', () => {
  for (const py of interpreters()) {
    test(`on ${py.label}: pymalloc statistics by memory stream and by fd 2 agree, and nothing is left behind`, async () => {
      const { stdout, stderr } = await run(py.path, ['-c', PROBE, MODULE], { timeout: 30_000 });
      const r = JSON.parse(stdout) as ProbeResult;
      assert.equal(stderr, '', 'nothing reached the real stderr');
      assert.ok(r.fds_same, 'no fd left open, fd 2 restored');
      assert.equal(r.trim, 'malloc_trim(0)');
      assert.ok(r.trim_result === 0 || r.trim_result === 1);
      assert.equal(r.mallinfo, 'mallinfo2', 'glibc 2.33+ has mallinfo2');
      if (py.major === 2) {
        assert.match(r.collect_unknown!, /Python 2\.7 has no sys\._debugmallocstats/);
        return;
      }
      assert.equal(r.collect_unknown, null);
      const a = parsePymallocStats(r.via_memstream);
      const b = parsePymallocStats(r.via_stderr);
      assert.ok(a && b, 'both parse');
      assert.equal(a.arena_size, b.arena_size);
      assert.ok(Math.abs(a.allocated - b.allocated) < 1024 * 1024, `${a.allocated} vs ${b.allocated}`);
    });
  }
});
