/**
 * src/agent/mallocstats.py in every CPython on the machine, run the way the
 * agent runs it (exec'd into a fresh dict), without attaching: both ways of
 * capturing pymalloc's statistics agree and leave fds and stderr as they were,
 * ctypes itself is never imported, and a Python without _ctypes still gets
 * pymalloc's statistics.
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

// Loads the module as the agent does (with _load for cabi.py, which it
// loads in turn) and calls both capture paths (2.7 has neither: no
// sys._debugmallocstats), then collect and trim. With "no-ctypes", as in a
// Python built without libffi: _ctypes cannot be imported.
const PROBE = `
import json, os, sys
if sys.argv[2] == 'no-ctypes':
    sys.modules['_ctypes'] = None
loaded = {}
def _load(name):
    if name not in loaded:
        ns = {'__name__': '__memwhy_%s__' % name, '_load': _load}
        path = os.path.join(os.path.dirname(sys.argv[1]), name + '.py')
        exec(compile(open(path).read(), path, 'exec'), ns)
        loaded[name] = ns
    return loaded[name]
ns = _load('mallocstats')
fds = sorted(os.listdir('/proc/self/fd'))
has_stats = hasattr(sys, '_debugmallocstats')
via_stderr = ns['_pymalloc_via_stderr']() if has_stats else ''
via_memstream = ns['_pymalloc_via_memstream']() if has_stats and sys.argv[2] != 'no-ctypes' else ''
collected = ns['collect']('glibc')
trimmed = ns['trim']('glibc', True)
sys.stdout.write(json.dumps({
    'via_stderr': via_stderr, 'via_memstream': via_memstream,
    'fds_same': sorted(os.listdir('/proc/self/fd')) == fds,
    'collect_unknown': collected['python'].get('unknown'),
    'collect_stats': collected['python'].get('stats'),
    'allocator_unknown': collected['allocator'].get('unknown'),
    'mallinfo': collected['allocator'].get('mallinfo_call'),
    'malloc_info': (collected['allocator'].get('malloc_info') or '')[:10],
    'trim': trimmed['call'], 'trim_result': trimmed['result'],
    'trim_unknown': trimmed.get('unknown'),
    'ctypes_imported': 'ctypes' in sys.modules,
}))
`;

interface ProbeResult {
  via_stderr: string;
  via_memstream: string;
  fds_same: boolean;
  collect_unknown: string | null;
  collect_stats: string | null;
  allocator_unknown: string | null;
  mallinfo: string | null;
  malloc_info: string;
  trim: string | null;
  trim_result: number | null;
  trim_unknown: string | null;
  ctypes_imported: boolean;
}

describe('mallocstats agent module', () => {
  for (const py of interpreters()) {
    test(`on ${py.label}: pymalloc statistics by memory stream and by fd 2 agree, and nothing is left behind`, async () => {
      const { stdout, stderr } = await run(py.path, ['-c', PROBE, MODULE, 'ctypes'], { timeout: 30_000 });
      const r = JSON.parse(stdout) as ProbeResult;
      assert.equal(stderr, '', 'nothing reached the real stderr');
      assert.ok(r.fds_same, 'no fd left open, fd 2 restored');
      assert.equal(r.ctypes_imported, false, 'ctypes itself never imported (cabi.py uses _ctypes only)');
      assert.equal(r.trim, 'malloc_trim(0)');
      assert.ok(r.trim_result === 0 || r.trim_result === 1);
      assert.equal(r.mallinfo, 'mallinfo2', 'glibc 2.33+ has mallinfo2');
      assert.equal(r.malloc_info, '<malloc ve', "malloc_info's XML read back from its memory stream");
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

    test(`on ${py.label} without _ctypes: pymalloc statistics by fd 2, the C allocator said to be out of reach`, async () => {
      const { stdout, stderr } = await run(py.path, ['-c', PROBE, MODULE, 'no-ctypes'], { timeout: 30_000 });
      const r = JSON.parse(stdout) as ProbeResult;
      assert.equal(stderr, '', 'nothing reached the real stderr');
      assert.ok(r.fds_same, 'no fd left open, fd 2 restored');
      assert.equal(r.ctypes_imported, false);
      assert.match(r.allocator_unknown!, /no ctypes/);
      assert.equal(r.trim, null);
      assert.match(r.trim_unknown!, /no ctypes/);
      if (py.major === 2) return;
      assert.equal(r.collect_unknown, null);
      assert.ok(parsePymallocStats(r.collect_stats!), 'the fd 2 capture parses');
    });
  }
});
