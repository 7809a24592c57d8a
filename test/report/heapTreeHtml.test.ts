/**
 * The dominator-tree explorer (`memwhy analyze DUMP --html FILE`) in headless
 * Chromium, on real dumps: for every CPython here, a real process holding a
 * session cache (test/fixtures/leak_session_cache.py) dumps its heap, grows
 * by 5,000 sessions and dumps again; the real CLI writes the pages.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openFile } from '../helpers/browser.js';
import { memwhy, ROOT } from '../helpers/cli.js';
import { interpreters } from '../helpers/pythons.js';
import { FIXTURES } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';

const run = promisify(execFile);
const dir = tempDir('memwhy-explorer-');
const pythons = interpreters();
let browser: Browser;

before(async () => {
  await memwhy(['--version'], { timeoutMs: 180_000 });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** Two dumps of one real process, 5,000 sessions apart, and the two pages the CLI writes from them. */
async function pages(label: string, python: string): Promise<{ one: string; two: string }> {
  const a = join(dir, `${label}-a.mwd`);
  const b = join(dir, `${label}-b.mwd`);
  await run(
    python,
    [
      join(ROOT, 'test', 'helpers', 'run_agent_module.py'),
      join(ROOT, 'src', 'agent'),
      '--setup',
      join(FIXTURES, 'leak_session_cache.py'),
      'heapdump.dump',
      JSON.stringify({ path: a }),
      'fixture.grow',
      JSON.stringify({ n: 5000 }),
      'heapdump.dump',
      JSON.stringify({ path: b }),
    ],
    { timeout: 180_000 },
  );
  const one = join(dir, `${label}-one.html`);
  const two = join(dir, `${label}-two.html`);
  for (const [args, out] of [
    [[a], one],
    [[a, b], two],
  ] as const) {
    const r = await memwhy(['analyze', ...args, '--html', out, '--top', '3'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
  }
  return { one, two };
}

const rowNamed = (page: Page, name: string) => page.locator(`#tree .row:has(> .what > .name:text-is(${JSON.stringify(name)}))`).first();

/** Opens the module's rows down to the cache, as a reader would: the module, its dict, then _SESSIONS. */
async function openCache(page: Page): Promise<void> {
  for (let i = 0; i < 4 && !(await rowNamed(page, '._SESSIONS').isVisible()); i++) {
    const closed = page.locator('#tree .row:has(> .what > .name:text-is("leak_session_cache")) .toggle[aria-label=open]').first();
    await closed.click();
  }
  await rowNamed(page, '._SESSIONS').locator('.toggle').click();
}

for (const py of pythons) {
  test(`explorer on a real ${py.label} dump: pruned note, open the cache, group its sessions by type, path from the root`, { timeout: 300_000 }, async () => {
    const { one } = await pages(py.label, py.path);
    const html = readFileSync(one, 'utf8');
    assert.match(html, /<meta name="generator" content="memwhy /);
    assert.doesNotMatch(html, /\s(src|href)=/, 'nothing to fetch');
    const o = await openFile(browser, one);
    const { page } = o;
    try {
      assert.match(
        (await page.locator('#pruned-note').textContent())!,
        /^Pruned: shown are the [\d,]+ holders retaining at least [\d.]+ KiB \(0\.05 % of the heap\) and the 5 largest objects each holds: [\d,]+ rows\. The other [\d,]+ objects are not rows of their own/,
      );
      // Rows are made when opened: before, no session row exists at all.
      assert.equal(await page.locator('#tree .row .type:text-is("leak_session_cache.Session")').count(), 0);
      await openCache(page);
      const cache = rowNamed(page, '._SESSIONS');
      assert.match((await cache.locator('.retained').textContent())!, /^(2\d|3\d)\.\d MiB$/, '20,000 sessions of a 1 KiB payload each');
      const kids = page.locator('.node:has(> .row .name:text-is("._SESSIONS")) > .kids-box');
      const sessions = kids.locator('> .kids:not(.by-type) > .node > .row');
      assert.equal(await sessions.count(), 5, 'the five largest sessions');
      // The largest sessions are the latest (longer user names), past the 10,000 keys the writer labels: no name.
      assert.deepEqual(await sessions.locator('.type').allTextContents(), Array(5).fill('leak_session_cache.Session'));
      // The other 19,995 sessions, and the dict's keys (each also a session's sid, so only the dict holds them alone).
      const more = (await kids.locator('> .kids:not(.by-type) > .row.more').textContent())!;
      const left = Number(/^… ([\d,]+) more objects retaining [\d.]+ MiB \(pruned\)$/.exec(more)?.[1]?.replace(/,/g, ''));
      assert.ok(left >= 19_995 && left <= 40_000, more);
      await kids.locator('.group-button').click();
      assert.match((await kids.locator('.by-type .row').first().textContent())!, /^leak_session_cache\.Session × 20,000\s*[23]\d\.\d MiB/);
      assert.ok(await kids.locator('> .kids:not(.by-type)').isHidden());

      await kids.locator('.group-button').click();
      // A session is below the share: opening it says what it holds was pruned.
      await sessions.first().locator('.toggle').click();
      const session = kids.locator('> .kids:not(.by-type) > .node').first();
      assert.match((await session.locator('.row.more').first().textContent())!, /^… \d+ more objects? retaining [\d.]+ (B|KiB) \(pruned\)$/);
      await sessions.first().locator('.path-button').click();
      const steps = page.locator('#path ol.steps > li');
      const texts = await steps.allTextContents();
      assert.match(texts[0]!, /^leak_session_cachemoduleroot/, `the path starts at the module: ${texts.join(' | ')}`);
      assert.ok(
        texts.some((t) => t.startsWith('._SESSIONS')),
        `the path goes through the global: ${texts.join(' | ')}`,
      );
      assert.match(texts.at(-1)!, /leak_session_cache\.Session$/);
      assert.ok(texts.length >= 4 && texts.length <= 6, `module, its dict, _SESSIONS, the session: ${texts.join(' | ')}`);
      assert.deepEqual(o.errors, []);
      assert.deepEqual(o.requests, [o.url], 'the page fetched nothing but itself');
    } finally {
      await page.close();
    }
  });
}

test('explorer of two dumps marks what grew and shows it in the tree', { timeout: 300_000 }, async () => {
  const py = pythons.find((p) => p.label.startsWith('debian')) ?? pythons.at(-1)!;
  const { two } = await pages(`${py.label}-grew`, py.path);
  const o = await openFile(browser, two);
  const { page } = o;
  try {
    assert.match(
      (await page.locator('#grew .verdict').textContent())!,
      /^The Python heap grew; most new objects are held by module leak_session_cache `_SESSIONS`: \+\d\.\d MiB .* [\d,]+ new objects/,
    );
    const first = page.locator('#grew .row[data-id]').first();
    assert.match((await first.textContent())!, /^\._SESSIONSdict\s*[5-9]\.\d MiB/, 'the cache holds the new sessions');
    await first.locator('.reveal').click();
    const focused = page.locator('#tree .row.focus');
    await focused.waitFor();
    assert.equal(await focused.locator('.name').textContent(), '._SESSIONS');
    assert.match((await focused.locator('.newbytes').textContent())!, /^[5-9]\.\d MiB$/);
    assert.deepEqual(o.errors, []);
  } finally {
    await page.close();
  }
});
