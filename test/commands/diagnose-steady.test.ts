/**
 * memwhy is not in its own answer: on a steady target (300,000 live objects,
 * a request loop that builds and drops objects, nothing kept) diagnose says
 * no-growth with a flat fitted slope, and no suspect is something memwhy
 * made (its compiled patterns, caches, ctypes objects, agent modules).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreters } from '../helpers/pythons.js';
import { diagnoseTarget } from '../helpers/diagnose.js';

const KiB = 1024;
const MEMWHY_MADE = /re\.Pattern|_lru_list_elem|ctypes|__memwhy|memwhy/;
const chosen = interpreters().filter((p) => p.path === '/usr/bin/python3' || (p.major === 3 && p.minor === 13) || p.major === 2);

describe('diagnose on a steady target', () => {
  for (const py of chosen) {
    test(`no-growth, a flat slope and nothing memwhy made among the suspects (${py.label})`, async () => {
      const d = await diagnoseTarget(py, 'steady_service.py', [], ['--duration', '12s', '--interval', '500ms']);
      process.stderr.write(
        `# ${py.label}: ${d.verdict.cause} (${d.verdict.confidence}), slope ${(d.rss.slope / KiB).toFixed(1)} KiB/s, suspects ${d.suspects.map((s) => `${s.type} ${s.count_delta}`).join(', ') || 'none'}\n`,
      );
      assert.equal(d.verdict.cause, 'no-growth', d.verdict.summary);
      assert.ok(Math.abs(d.rss.slope) < 10 * KiB, `fitted slope ${d.rss.slope} B/s`);
      for (const s of d.suspects) {
        assert.doesNotMatch(s.type, MEMWHY_MADE, `suspect ${s.type}`);
        assert.ok(!(s.path ?? []).some((hop) => hop.includes('__memwhy')), `path ${s.path?.join(' -> ')}`);
        assert.ok(!(s.site ?? '').startsWith('memwhy/'), `site ${s.site}`);
      }
      assert.ok(!(d.allocation_sites ?? []).some((s) => s.site.startsWith('memwhy/') || s.site.includes('<memwhy')), 'no allocation site of memwhy');
    });
  }
});
