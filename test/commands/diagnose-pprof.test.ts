import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { diagnoseTarget } from '../helpers/diagnose.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tempDir.js';

const GO = ['/usr/bin/go', '/usr/lib/go/bin/go'].find((p) => existsSync(p));
const all = interpreters();
const debian = all.find((p) => p.label.startsWith('debian')) ?? all[all.length - 1]!;

test(
  `diagnose --pprof writes the traced sites of a leaking service as a profile go tool pprof reads (${debian.label})`,
  { skip: GO ? false : 'golang-go is not installed (scripts/setup.sh installs it)' },
  async () => {
    const dir = tempDir('memwhy-pprof-diag-');
    const file = join(dir, 'profile.pb.gz');
    const d = await diagnoseTarget(debian, join(ROOT, 'workloads', 'leaky_service.py'), ['--rate', '400'], ['--pprof', file]);
    assert.ok(d.allocation_sites?.length, 'sites were traced');
    const env = { ...process.env, HOME: dir, GOCACHE: join(dir, 'cache') };
    const top = execFileSync(GO!, ['tool', 'pprof', '-top', '-sample_index=inuse_space', file], { encoding: 'utf8', env, timeout: 120_000 });
    assert.match(top, /^Type: inuse_space$/m);
    assert.match(top, /leaky_service\.py:\d+/, top);
    const objects = execFileSync(GO!, ['tool', 'pprof', '-top', '-sample_index=inuse_objects', file], { encoding: 'utf8', env, timeout: 120_000 });
    assert.match(objects, /^Type: inuse_objects$/m);
  },
);
