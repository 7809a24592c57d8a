import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { sampleValue, startWatch } from '../helpers/watch.js';

/** Runs `count` commands, `parallel` at a time, each to its exit. */
async function churn(count: number, parallel: number, argv: () => string[], onPid: (pid: number) => void): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      const [cmd, ...args] = argv();
      const child = spawn(cmd!, args, { stdio: 'ignore' });
      if (child.pid) onPid(child.pid);
      await new Promise((r) => child.once('exit', r));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

test('watch survives 200 short-lived Python processes, a stopped one and a non-Python one, and keeps no stale series', async () => {
  const py = interpreters()[interpreters().length - 1]!;
  const tag = `memwhy-churn-${process.pid}`;
  const watch = await startWatch(['--match', tag, '--interval', '200ms', '--smaps-interval', '0s']);
  const stopped = await startTarget(py.path, ['idle_deep_sleep.py', 'sleep', tag]);
  const notPython = spawn('sh', ['-c', 'sleep 120', tag], { stdio: 'ignore' });
  process.kill(stopped.pid, 'SIGSTOP');
  const churned = new Set<number>();
  let scrapes = 0;
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      // A new connection each time: a keep-alive socket the server closed while this process was busy spawning is not watch's fault.
      const res = await watch.get('/metrics', { headers: { connection: 'close' } }).catch((err: unknown) => {
        throw new Error(`scrape failed (${String(err)}: ${String((err as { cause?: unknown }).cause)}); watch exited ${watch.child.exitCode}:\n${watch.stderr()}`);
      });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^# TYPE memwhy_watch_processes gauge$/m);
      scrapes++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    // Each lives 0.1-0.5 s: some are seen by a sample, some start and end between two.
    await churn(
      200,
      8,
      () => [py.path, '-S', '-c', `import time; time.sleep(${(0.1 + Math.random() * 0.4).toFixed(2)})`, tag],
      (pid) => churned.add(pid),
    );
    scraping = false;
    await scraper;
    assert.equal(churned.size, 200);
    // Under the churn's load a scrape may take seconds on a busy 2-core machine: that it answers at all is the point.
    assert.ok(scrapes >= 1, `scraped ${scrapes} times during the churn`);
    // After the next samples only the stopped process is left.
    let text = '';
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      text = await (await watch.get('/metrics')).text();
      if (sampleValue(text, 'memwhy_watch_processes', {}) === 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(sampleValue(text, 'memwhy_watch_processes', {}), 1);
    const pids = new Set([...text.matchAll(/pid="(\d+)"/g)].map((m) => Number(m[1])));
    assert.deepEqual([...pids], [stopped.pid], 'the stopped process alone: no churned pid and not the shell');
    assert.ok(sampleValue(text, 'memwhy_process_resident_memory_bytes', { pid: String(stopped.pid) })! > 0, 'a stopped process is still read');
    const rss = sampleValue(text, 'memwhy_watch_resident_memory_bytes', {})!;
    assert.ok(rss < 200 * 2 ** 20, `watch's own RSS ${rss} after the churn`);
    assert.equal(watch.child.exitCode, null, 'watch is still running');
    assert.equal(await watch.stop(), 0);
  } finally {
    scraping = false;
    process.kill(stopped.pid, 'SIGCONT');
    notPython.kill('SIGKILL');
    await watch.stop();
    await stopped.kill();
  }
});
