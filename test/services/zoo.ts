/**
 * One zoo case as a test: start the real service under load, let it warm up
 * (10 s, longer for a case that needs it, and until RSS settles for a
 * case that should show no growth),
 * then run `memwhy diagnose PID --json` (default window) three times on the
 * same running service and check each verdict names the expected cause.
 * Every run's cause, confidence and top suspect go to stderr, one line each,
 * so a reader sees what memwhy said even when the test passes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memwhy } from '../helpers/cli.js';
import { missingFramework, SERVICES, startService, warmUp, type ServiceName } from '../helpers/services.js';

const RUNS = 3;
/** The default window is 30 s; attaching, censuses and the trim proof add a few more. */
const DIAGNOSE_TIMEOUT_MS = 240_000;

/** Only what the zoo reads of the diagnosis; the rest of the document may change freely. */
interface VerdictView {
  verdict?: { cause?: string; confidence?: string; summary?: string };
  suspects?: { type?: string; path?: string[] | null; site?: string | null }[];
}

interface Run {
  cause: string;
  line: string;
}

async function diagnoseOnce(name: ServiceName, pid: number, run: number): Promise<Run> {
  const r = await memwhy(['diagnose', String(pid), '--json', ...((SERVICES[name] as { diagnoseArgs?: string[] }).diagnoseArgs ?? [])], {
    timeoutMs: DIAGNOSE_TIMEOUT_MS,
  });
  if (r.code !== 0) {
    const line = `zoo ${name} run ${run}/${RUNS}: memwhy exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    return { cause: `(exit ${r.code})`, line };
  }
  const d = JSON.parse(r.stdout) as VerdictView;
  const top = d.suspects?.[0];
  const cause = d.verdict?.cause ?? '(none)';
  const line =
    `zoo ${name} run ${run}/${RUNS}: cause=${cause} confidence=${d.verdict?.confidence ?? '?'}` +
    ` top=${top?.type ?? '-'} path=${top?.path ? top.path.join(' > ') : '-'} site=${top?.site ?? '-'}` +
    ` | ${d.verdict?.summary ?? ''}`;
  return { cause, line };
}

export function zooCase(name: ServiceName): void {
  const expected = SERVICES[name].expected;
  const missing = missingFramework(name);
  test(`memwhy diagnoses ${name} as ${expected}, three times running`, { skip: missing, timeout: 20 * 60_000 }, async () => {
    const svc = await startService(name);
    const runs: Run[] = [];
    try {
      process.stderr.write(`zoo ${name}: ${await warmUp(svc)}\n`);
      for (let i = 1; i <= RUNS; i++) {
        const run = await diagnoseOnce(name, svc.pid, i);
        process.stderr.write(run.line + '\n');
        runs.push(run);
        assert.equal(process.kill(svc.pid, 0), true, `${name} (pid ${svc.pid}) still running after run ${i}`);
      }
    } finally {
      await svc.stop();
    }
    const right = [expected, ...((SERVICES[name] as { alsoRight?: string[] }).alsoRight ?? [])];
    assert.deepEqual(
      runs.map((r) => (right.includes(r.cause) ? expected : r.cause)),
      Array(RUNS).fill(expected),
      `${name}: expected ${right.join(' or ')} on every run:\n${runs.map((r) => r.line).join('\n')}`,
    );
  });
}
