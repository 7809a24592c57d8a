import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { encodePprof } from '../../src/report/pprof.js';
import { tempDir } from '../helpers/tempDir.js';

const GO = ['/usr/bin/go', '/usr/lib/go/bin/go'].find((p) => existsSync(p));

const SITES = [
  { size: 3_000_000, count: 1000, traceback: ['/srv/app.py:40', '/srv/cache.py:12', '/srv/cache.py:30'] },
  { size: 500_000, count: 20, traceback: ['/srv/app.py:40', '/srv/log.py:7'] },
];

test('the profile is gzip-compressed protobuf whose string table starts empty', () => {
  const raw = gunzipSync(encodePprof(SITES, { endMs: 1_700_000_000_000, durationMs: 30_000 }));
  // Field 1 (sample_type), length-delimited, first.
  assert.equal(raw[0], 0x0a);
  assert.ok(raw.includes(Buffer.from('inuse_space')) && raw.includes(Buffer.from('/srv/cache.py:30')));
});

test("go tool pprof reads the profile back: totals, sample types and each site's stack", { skip: GO ? false : 'golang-go is not installed (scripts/setup.sh installs it)' }, () => {
  const dir = tempDir('memwhy-pprof-');
  const file = join(dir, 'profile.pb.gz');
  writeFileSync(file, encodePprof(SITES, { endMs: 1_700_000_000_000, durationMs: 30_000 }));
  const env = { ...process.env, HOME: dir, GOCACHE: join(dir, 'cache'), GOFLAGS: '-mod=mod' };
  const raw = execFileSync(GO!, ['tool', 'pprof', '-raw', file], { encoding: 'utf8', env, timeout: 120_000 });
  assert.match(raw, /Samples:\s*\ninuse_objects\/count inuse_space\/bytes\[dflt\]/);
  // Each sample: its values, then its locations innermost first.
  assert.match(raw, /\s1000\s+3000000: 1 2 3 \n/);
  assert.match(raw, /\s20\s+500000: 4 3 \n/);
  const top = execFileSync(GO!, ['tool', 'pprof', '-top', '-sample_index=inuse_space', file], { encoding: 'utf8', env, timeout: 120_000 });
  // pprof prints kB of 1024 bytes: 3,500,000 bytes is 3417.97kB.
  assert.match(top, /of 3417\.97kB total/);
  assert.match(top, /2929\.69kB 85\.71% 85\.71%\s+2929\.69kB 85\.71%\s+\/srv\/cache\.py:30/);
  assert.match(top, /\s0\s+0%\s+100%\s+3417\.97kB\s+100%\s+\/srv\/app\.py:40/, 'the outermost frame holds everything cumulatively');
  const objects = execFileSync(GO!, ['tool', 'pprof', '-top', '-sample_index=inuse_objects', file], { encoding: 'utf8', env, timeout: 120_000 });
  assert.match(objects, /of 1020 total/);
});
