/**
 * `memwhy diagnose PID`: the whole investigation in one command, ending in a
 * verdict with the numbers that decided it. Thin: gather -> analyse -> render.
 */
import { join } from 'node:path';
import { gatherEvidence } from '../collect/diagnose.js';
import { serializeEvidence } from '../evidence/evidence.js';
import { diagnose } from '../analyze/verdict.js';
import { interruptSignal } from '../util/interrupt.js';
import { countOption, durationOption } from './parse.js';
import { packageVersion } from '../version.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { defineCommand, FORCE_OPTION, parsePid } from './spec.js';
import { checkOutputFile, EVIDENCE_FILE, prepareEvidenceDir, writeOutputFile } from '../util/outputFile.js';
import { emitDiagnosis } from './reportOutput.js';
import { ProgressBar } from '../report/progress.js';
import { watchWorkers } from '../collect/workers.js';
import { chooseWorker } from '../analyze/workers.js';
import { renderWorkersChoice, watchingLine, withWorkers } from '../report/workers.js';
import { UserError } from '../errors.js';
import { encodePprof } from '../report/pprof.js';
import type { TracemallocEvidence } from '../evidence/evidence.js';

/** The traced sites as pprof; a line on stderr instead when nothing was traced (tracemalloc off or skipped). */
function writeProfile(t: TracemallocEvidence, file: string, force: boolean | undefined): void {
  if (!t.top || t.top.length === 0) {
    process.stderr.write(`memwhy: no allocation sites were traced${t.skipped ? ` (${t.skipped})` : ''}: ${file} not written\n`);
    return;
  }
  const endMs = Date.now();
  writeOutputFile(file, encodePprof(t.top, { endMs, durationMs: 0 }), { force });
  process.stderr.write(`memwhy: allocation profile written to ${file} (go tool pprof ${file})\n`);
}

export const diagnoseCommand = defineCommand({
  name: 'diagnose',
  args: '<pid>',
  summary: 'watch a process and say why its memory grows, with the evidence and what to do',
  options: [
    { flags: '--duration <duration>', description: 'how long to watch', default: '30s' },
    { flags: '--interval <duration>', description: 'RSS sampling interval', default: '1s' },
    { flags: '--censuses <n>', description: 'heap censuses spread over the window, both ends included (each runs in a forked child)', default: '6' },
    { flags: '--html <file>', description: 'also write a self-contained HTML report' },
    { flags: '--pprof <file>', description: 'also write the allocation sites traced as a gzip pprof profile (inuse_space, inuse_objects)' },
    { flags: '--save <dir>', description: 'keep the evidence, to re-analyse later with `memwhy report DIR`' },
    { flags: '--dump <file>', description: "also write a heap dump at the end (as memwhy dump does) and give each growing type's holder its retained size" },
    { flags: '--no-tracemalloc', description: 'do not trace allocations during the window' },
    { flags: '--no-trim', description: 'do not run the malloc_trim proof when retention is suspected' },
    { flags: '--workers-window <duration>', description: "how long to watch a master's Python workers to choose the one to diagnose", default: '10s' },
    { flags: '--no-workers', description: 'diagnose the pid itself even when it has Python workers (gunicorn, uWSGI, multiprocessing)' },
    FORCE_OPTION,
    ...ATTACH_OPTIONS,
  ],
  help: [
    'Causes: python-objects, uncollectable, cyclic-garbage, native, allocator-retention, thread-leak, unexplained, no-growth.',
    'Each heap census runs in a copy-on-write child of the target, which is held only for the fork',
    "(--no-fork: in the target). tracemalloc runs over the window's last fifth, only if the program was",
    'not already tracing, and is stopped after. Ctrl-C ends the window early and still gives the verdict.',
    "A pid with Python workers (a gunicorn or uWSGI master) is not attached: its workers' RSS is watched",
    'for --workers-window, and the one that grows fastest (else the biggest) is diagnosed in its place.',
  ].join('\n'),
  async run(args, opts) {
    const asked = parsePid(args[0]);
    const durationS = durationOption('--duration', opts.duration);
    const intervalS = durationOption('--interval', opts.interval);
    const censuses = countOption('--censuses', opts.censuses, 2);
    // Refused outputs fail now, not after watching the target for --duration. The
    // directory is made now too, so that --html may name a file in it.
    if (opts.save) prepareEvidenceDir(opts.save, { force: opts.force });
    if (opts.html) checkOutputFile(opts.html, { force: opts.force });
    if (opts.pprof) checkOutputFile(opts.pprof, { force: opts.force });
    if (opts.dump) checkOutputFile(opts.dump, { force: opts.force });
    const signal = interruptSignal();
    // Workers (gunicorn, uWSGI, multiprocessing): watch their RSS, diagnose the one that grows fastest; never the master.
    const windowS = durationOption('--workers-window', opts.workersWindow);
    const onStart = (n: number): void => void process.stderr.write(watchingLine(asked, n, windowS));
    const watch = opts.workers ? await watchWorkers(asked, { windowS, signal, onStart }) : undefined;
    const choice = watch && chooseWorker(watch);
    if (watch && !choice) throw new UserError(`every Python worker of ${asked} exited while watched: run again, or add --no-workers`);
    if (choice) process.stderr.write(renderWorkersChoice(choice, process.stderr.isTTY ? process.stderr.columns : undefined));
    const pid = choice?.pid ?? asked;
    const bar = new ProgressBar(process.stderr, durationS);
    const evidence = await gatherEvidence(pid, {
      ...attachSettings(opts, signal),
      durationS,
      intervalS,
      censuses,
      tracemalloc: opts.tracemalloc,
      trim: opts.trim,
      dumpTo: opts.dump,
      force: opts.force,
      memwhyVersion: packageVersion(),
      onPhase: (phase, fraction) => bar.update(phase, fraction),
    });
    bar.done();
    const diagnosis = diagnose(evidence);
    if (opts.save) {
      writeOutputFile(join(opts.save, EVIDENCE_FILE), serializeEvidence(evidence), { force: opts.force });
      process.stderr.write(`memwhy: evidence saved in ${opts.save} (memwhy report ${opts.save})\n`);
    }
    if (opts.pprof) writeProfile(evidence.tracemalloc, opts.pprof, opts.force);
    if (opts.dump) {
      process.stderr.write(
        evidence.dump
          ? `memwhy: heap dump written to ${opts.dump} (memwhy analyze ${opts.dump} --html FILE explores who holds what)\n`
          : `memwhy: no heap dump was written: ${evidence.notes.find((n) => n.includes('heap dump')) ?? 'see the notes'}\n`,
      );
    }
    await emitDiagnosis(choice ? withWorkers(diagnosis, choice, windowS) : diagnosis, opts);
    return 0;
  },
});
