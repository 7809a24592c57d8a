/**
 * memwhy's footprint on a real service: a gunicorn sync worker (Debian's
 * python3 and gunicorn) serving a steady app under load, each attaching
 * command run on it in turn. Its RSS moves a little with the requests in
 * flight, so before and after are each the median of 3 s of samples, read
 * 2 s after the command; the bounds are the steady target's
 * (test/helpers/footprint.ts).
 *
 * Measured (December 2026, 20 requests/s, the machine loaded by other jobs),
 * kB of RssAnon: heap (the first attach) +404 (+928/+936 before the agent's
 * code came compiled from memwhy's side), growth +132, gc +24, refs +16,
 * dump +16, diagnose +312.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memwhy } from '../helpers/cli.js';
import { cpuTicks, processState, tracerPid } from '../helpers/procfs.js';
import { tempDir } from '../helpers/tempDir.js';
import { BOUND_KIB, COMMANDS, memoryOf, MIB } from '../helpers/footprint.js';
import { missingFramework, startService, type Service } from '../helpers/services.js';

const WARMUP_MS = 20_000;
const SETTLE_MS = 2_000;
const MEDIAN_OVER_MS = 3_000;
const SAMPLE_EVERY_MS = 250;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The median of RssAnon (kB) sampled over MEDIAN_OVER_MS, and the spread seen. */
async function medianAnon(pid: number): Promise<{ kib: number; spread: number }> {
  const v: number[] = [];
  for (let t = 0; t < MEDIAN_OVER_MS; t += SAMPLE_EVERY_MS) {
    v.push(memoryOf(pid).rssAnonKib);
    await sleep(SAMPLE_EVERY_MS);
  }
  v.sort((a, b) => a - b);
  return { kib: v[Math.floor(v.length / 2)]!, spread: v[v.length - 1]! - v[0]! };
}

const missing = missingFramework('steady_worker');

describe('memwhy leaves a gunicorn worker under load as small as it found it', { skip: missing }, () => {
  let svc: Service;
  let dir: string;
  const lines: string[] = [];
  before(async () => {
    assert.equal((await memwhy(['--version'], { timeoutMs: 180_000 })).code, 0);
    dir = tempDir('memwhy-footprint-worker-');
    svc = await startService('steady_worker');
    await sleep(WARMUP_MS);
  });
  after(async () => {
    process.stderr.write(`# memwhy's footprint in a gunicorn worker under load (RssAnon medians, kB):\n${lines.map((l) => `# ${l}\n`).join('')}`);
    await svc?.stop();
  });

  COMMANDS.forEach((command) => {
    const bound = BOUND_KIB;
    test(`${command.name} leaves the worker serving, detached, and at most ${bound / MIB} MiB bigger`, async () => {
      const busy = cpuTicks(svc.pid);
      const before = await medianAnon(svc.pid);
      const r = await memwhy(command.args(svc.pid, dir), { timeoutMs: command.timeoutMs });
      await sleep(SETTLE_MS);
      const after = await medianAnon(svc.pid);
      const grew = after.kib - before.kib;
      lines.push(
        `${command.name.padEnd(9)} exit ${r.code}  ${before.kib} -> ${after.kib} (${grew >= 0 ? '+' : ''}${grew}; spread ${before.spread}/${after.spread}; worker cpu ${cpuTicks(svc.pid) - busy} ticks)`,
      );
      assert.equal(r.code, 0, `memwhy ${command.name}: ${r.stderr}`);
      assert.equal(process.kill(svc.pid, 0), true, 'worker alive');
      const answer = await fetch(`http://127.0.0.1:${svc.port}/item?sku=B`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(answer.status, 200, 'the worker (the only one) still serves');
      assert.equal(tracerPid(svc.pid), 0, 'worker not traced');
      assert.ok(!['t', 'T'].includes(processState(svc.pid)), 'worker not stopped');
      assert.ok(grew <= bound, `${command.name} grew the worker's anonymous RSS by ${grew} kB (bound ${bound} kB): ${svc.stderr().slice(-500)}`);
    });
  });
});
