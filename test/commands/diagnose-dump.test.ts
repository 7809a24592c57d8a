/**
 * `diagnose --dump FILE`: a heap dump is written at the end of the window,
 * and the growing type's holder comes with what it retains in it, the same
 * figure `memwhy analyze FILE` gives that holder. Target: a thread appending
 * 2,000 records a second to a module-global list (LEAKED). Debian's
 * python3, the newest CPython and 2.7, like the steady diagnose test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { memwhy } from '../helpers/cli.js';
import { startTarget } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';
import { tracerPid } from '../helpers/procfs.js';
import type { Diagnosis } from '../../src/analyze/diagnosis.js';

const all = interpreters();
const chosen = all.filter((p) => p.path === '/usr/bin/python3' || p === all[all.length - 1] || p.major === 2);
process.stderr.write(`# diagnose --dump on: ${chosen.map((p) => `${p.label} (${p.version})`).join(', ')}\n`);

interface Retainer {
  name: string;
  retained_bytes: number;
  retained_count: number;
}

describe('diagnose --dump', () => {
  for (const py of chosen) {
    test(`the holder of the growing records retains in the dump what analyze says (${py.label})`, async () => {
      const dir = tempDir('memwhy-diagnose-dump-');
      const file = join(dir, 'end.mwd');
      const target = await startTarget(py.path, ['leak_objects_steadily.py']);
      let d: Diagnosis;
      try {
        const r = await memwhy(['diagnose', String(target.pid), '--duration', '8s', '--interval', '500ms', '--json', '--dump', file], { timeoutMs: 240_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(target.alive(), 'target still running');
        assert.equal(tracerPid(target.pid), 0, 'target detached');
        assert.match(r.stderr, /heap dump written to .*end\.mwd/);
        d = JSON.parse(r.stdout) as Diagnosis;
      } finally {
        await target.kill();
      }
      assert.ok(existsSync(file), 'the dump was written');
      assert.equal(d.verdict.cause, 'python-objects', d.verdict.summary);
      assert.equal(d.heap_dump?.file, file);
      const record = d.suspects.find((s) => s.type.endsWith('LeakedRecord'));
      assert.ok(record?.holder, `the records' holder is sized: ${JSON.stringify(record)}`);
      const holder = record.holder;
      process.stderr.write(`# ${py.label}: ${holder.label} retains ${holder.bytes} B in ${holder.objects} objects (${(holder.share * 100).toFixed(1)} %)\n`);
      assert.match(holder.label, /^list LEAKED/);
      assert.ok(holder.objects > record.count_delta, `it holds more records than were added in the window (${holder.objects} > ${record.count_delta})`);
      assert.ok(holder.share > 0 && holder.share < 1, `share ${holder.share}`);
      const analyzed = await memwhy(['analyze', file, '--json', '--top', '3']);
      assert.equal(analyzed.code, 0, analyzed.stderr);
      const top = (JSON.parse(analyzed.stdout) as { retainers: Retainer[] }).retainers.find((x) => x.name.includes('LEAKED'));
      assert.ok(top, 'analyze names the same holder');
      assert.equal(holder.bytes, top.retained_bytes, 'the same retained bytes');
      assert.equal(holder.objects, top.retained_count, 'the same objects');
    });
  }
});
