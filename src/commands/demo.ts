/**
 * `memwhy demo`: the whole job on bundled programs. Starts the leaky
 * service (Python objects piling up in a cache) and a service whose heap
 * was fragmented by a burst (allocator retention), diagnoses each, prints
 * the verdicts and writes the HTML reports. The programs are stopped after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gatherEvidence } from '../collect/diagnose.js';
import { diagnose } from '../analyze/verdict.js';
import { UserError } from '../errors.js';
import { packageFilePath, readPackageFile } from '../installation.js';
import { interruptSignal } from '../util/interrupt.js';
import { packageVersion } from '../version.js';
import { durationOption } from './parse.js';
import { writeHtmlReport } from './reportOutput.js';
import { ProgressBar } from '../report/progress.js';
import { defineCommand, FORCE_OPTION, printJson } from './spec.js';
import { checkOutputFile } from '../util/outputFile.js';
import type { Diagnosis } from '../analyze/diagnosis.js';

interface DemoProgram {
  name: string;
  args: string[];
  what: string;
}

const PROGRAMS: DemoProgram[] = [
  { name: 'leaky-service', args: ['leaky_service.py', '--rate', '400'], what: 'a service that caches every session and never evicts one' },
  { name: 'fragmented', args: ['fragment.py', '--hold'], what: 'a service whose burst of requests fragmented the C heap, now idle' },
];

function startProgram(python: string, p: DemoProgram): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // From the package by path; the single executable's copy through stdin ("python -").
    const name = `workloads/${p.args[0]!}`;
    const file = packageFilePath(name);
    const source = file === undefined ? readPackageFile(name) : undefined;
    if (file === undefined && source === undefined) return reject(new Error(`the demo program ${name} is missing`));
    const child = spawn(python, ['-u', file ?? '-', ...p.args.slice(1)], { stdio: [source === undefined ? 'ignore' : 'pipe', 'pipe', 'inherit'] });
    if (source !== undefined) child.stdin!.end(source);
    let out = '';
    const timer = setTimeout(() => reject(new UserError(`the demo program ${p.name} did not start in 60 s`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^(ready|holding)/m.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('error', (e) => reject(new UserError(`cannot start ${python}: ${e.message}`)));
    child.on('exit', () => reject(new UserError(`the demo program ${p.name} exited early: ${out.trim()}`)));
  });
}

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'diagnose bundled leaky programs: see what memwhy finds, end to end',
  options: [
    { flags: '--python <path>', description: 'the Python to run them with', default: '/usr/bin/python3' },
    { flags: '--duration <duration>', description: 'how long to watch each', default: '10s' },
    { flags: '--out <dir>', description: 'where to write the HTML reports', default: '/tmp' },
    FORCE_OPTION,
  ],
  async run(_args, opts) {
    if (!existsSync(opts.python)) throw new UserError(`${opts.python} not found: give a Python with --python (e.g. --python $(which python3))`);
    const durationS = durationOption('--duration', opts.duration);
    const reportPath = (p: DemoProgram): string => join(opts.out, `memwhy-demo-${p.name}.html`);
    for (const p of PROGRAMS) checkOutputFile(reportPath(p), { force: opts.force });
    const signal = interruptSignal();
    const results: { program: string; pid: number; report: string; diagnosis: Diagnosis }[] = [];
    for (const p of PROGRAMS) {
      const child = await startProgram(opts.python, p);
      try {
        process.stderr.write(`\nmemwhy demo: ${p.name} (pid ${child.pid}): ${p.what}\n`);
        const bar = new ProgressBar(process.stderr, durationS);
        const evidence = await gatherEvidence(child.pid!, {
          durationS,
          intervalS: 0.5,
          tracemalloc: true,
          trim: true,
          safePointTimeoutS: 10,
          signal,
          memwhyVersion: packageVersion(),
          onPhase: (phase, fraction) => bar.update(phase, fraction),
        });
        bar.done();
        const d = diagnose(evidence);
        const report = reportPath(p);
        await writeHtmlReport(d, report, { force: opts.force });
        results.push({ program: p.name, pid: child.pid!, report, diagnosis: d });
        if (!opts.json) {
          process.stdout.write(`\n== ${p.name}: ${d.verdict.cause} (${d.verdict.confidence})\n${d.verdict.summary}\n`);
          for (const r of d.recommendations) process.stdout.write(`  - ${r}\n`);
          process.stdout.write(`report: ${report}\n`);
        }
      } finally {
        child.kill('SIGKILL');
      }
    }
    if (opts.json) printJson({ programs: results.map((r) => ({ program: r.program, pid: r.pid, report: r.report, verdict: r.diagnosis.verdict })) });
    return 0;
  },
});
