/**
 * Debian's Chromium, headless, driven by playwright-core: never a downloaded
 * browser. Opens a local file and records console errors, page errors and
 * every request, so a test can check a report loads cleanly and offline.
 */
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface OpenedPage {
  page: Page;
  url: string;
  errors: string[];
  requests: string[];
  dialogs: string[];
}

export interface OpenOptions {
  /** Viewport width in CSS pixels (1280 unless given). */
  width?: number;
  height?: number;
  /** Let the page's clipboard be read and written, so a test can copy and read back what a user would paste. */
  clipboard?: boolean;
}

export async function openFile(browser: Browser, file: string, options: OpenOptions = {}): Promise<OpenedPage> {
  const url = pathToFileURL(file).href;
  // A context of its own per page (closed with the page), so permissions granted to one never leak into another.
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    permissions: options.clipboard ? ['clipboard-read', 'clipboard-write'] : [],
  });
  const page = await context.newPage();
  // The browser may be closing too (the last test's page closes as the run ends): a context it took down needs no closing.
  page.on('close', () => void context.close().catch(() => undefined));
  const o: OpenedPage = { page, url, errors: [], requests: [], dialogs: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') o.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => o.errors.push(`page: ${e.message}`));
  page.on('request', (r) => o.requests.push(r.url()));
  page.on('dialog', (d) => {
    o.dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(url, { waitUntil: 'load' });
  return o;
}
