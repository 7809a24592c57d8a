/**
 * memwhy diagnose on real targets, one per cause: the verdict names the
 * cause planted, with the figures behind it; --save and `report` agree.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { diagnoseTarget } from '../helpers/diagnose.js';
import { memwhy, ROOT } from '../helpers/cli.js';
import { launchChromium, openFile } from '../helpers/browser.js';
import type { Diagnosis } from '../../src/analyze/diagnosis.js';
import { tempDir } from '../helpers/tempDir.js';

const temps: string[] = [];
after(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

const all = interpreters();
const debian = all.find((p) => p.label.startsWith('debian')) ?? all[all.length - 1]!;

/** The report of a real diagnosis loads in Debian's Chromium, offline, with the verdict first. */
async function checkInChromium(html: string, d: Diagnosis): Promise<void> {
  const browser = await launchChromium();
  try {
    const o = await openFile(browser, html);
    assert.deepEqual(o.errors, [], 'no console or page errors');
    assert.deepEqual(o.requests, [o.url], 'nothing loaded but the file itself');
    const text = await o.page.innerText('body');
    assert.ok(text.includes(d.verdict.summary.slice(0, 40)), 'the verdict summary is shown');
    const shot = join(tmpdir(), 'memwhy-diagnose-e2e.png');
    await o.page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`# screenshot of a real diagnosis report: ${shot}\n`);
  } finally {
    await browser.close();
  }
}

describe('diagnose names the cause planted', () => {
  for (const py of all) {
    test(`python-objects: a session cache that is never evicted (${py.label})`, async () => {
      const dir = tempDir('memwhy-diag-');
      temps.push(dir);
      const html = join(dir, 'report.html');
      const d = await diagnoseTarget(py, join(ROOT, 'workloads', 'leaky_service.py'), ['--rate', '400'], ['--html', html]);
      if (py === debian) await checkInChromium(html, d);
      assert.equal(d.verdict.cause, 'python-objects', d.verdict.summary);
      assert.ok(d.rss.end > d.rss.start, 'RSS grew');
      assert.ok(d.rss.slope > 0);
      const session = d.suspects.find((s) => s.type.endsWith('Session'));
      assert.ok(session, `Session among the suspects: ${d.suspects.map((s) => s.type).join(', ')}`);
      assert.ok(session.count_delta > 100, `Session count grew (${session.count_delta})`);
      assert.ok(
        session.path?.some((hop) => hop.includes('_SESSIONS')),
        `the path names _SESSIONS: ${session.path?.join(' -> ')}`,
      );
      assert.ok(d.recommendations.length > 0);
      if (py.major === 3)
        assert.ok(
          d.allocation_sites?.some((s) => s.site.includes('leaky_service.py')),
          'a site in the service',
        );
    });
  }

  test(`no-growth: an idle program (${debian.label}), and --save then report agree`, async () => {
    const dir = tempDir('memwhy-diag-');
    temps.push(dir);
    const html = join(dir, 'report.html');
    const d = await diagnoseTarget(debian, 'idle_sleeper.py', [], ['--save', dir, '--html', html]);
    assert.equal(d.verdict.cause, 'no-growth', d.verdict.summary);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<title>[^<]*no-growth/);
    assert.ok(page.includes('"cause":"no-growth"'), 'the page carries the diagnosis');
    const again = await memwhy(['report', dir, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout) as Diagnosis).verdict, d.verdict);
  });
});
