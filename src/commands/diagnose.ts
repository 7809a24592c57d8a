/**
 * `memwhy diagnose PID`: the whole investigation in one command, ending in a
 * verdict with the numbers that decided it. Thin: gather -> analyse -> render.
 */
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { gatherEvidence } from '../collect/diagnose.js';
import { diagnose } from '../analyze/verdict.js';
import { interruptSignal } from '../util/interrupt.js';
import { durationOption } from './parse.js';
import { packageVersion } from '../version.js';
import { ATTACH_OPTIONS, attachSettings, type AttachCliOptions } from './attachOptions.js';
import { parsePid, type CommandSpec } from './spec.js';
import { emitDiagnosis } from './reportOutput.js';
import { ProgressBar } from '../report/progress.js';

interface DiagnoseCliOptions extends AttachCliOptions {
  duration: string;
  interval: string;
  json?: boolean;
  html?: string;
  save?: string;
  tracemalloc: boolean;
  trim: boolean;
}


/** Writes a file atomically: a reader never sees half of it. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export const diagnoseCommand: CommandSpec<DiagnoseCliOptions> = {
  name: 'diagnose',
  args: '<pid>',
  summary: 'watch a process and say why its memory grows, with the evidence and what to do',
  options: [
    { flags: '--duration <duration>', description: 'how long to watch', default: '30s' },
    { flags: '--interval <duration>', description: 'RSS sampling interval', default: '1s' },
    { flags: '--html <file>', description: 'also write a self-contained HTML report' },
    { flags: '--save <dir>', description: 'keep the evidence, to re-analyse later with `memwhy report DIR`' },
    { flags: '--no-tracemalloc', description: 'do not trace allocations during the window' },
    { flags: '--no-trim', description: 'do not run the malloc_trim proof when retention is suspected' },
    ...ATTACH_OPTIONS,
  ],
  help: [
    'Causes: python-objects, uncollectable, cyclic-garbage, native, allocator-retention, thread-leak, no-growth.',
    'The target is paused briefly for each heap census (start, middle, end); tracemalloc runs during the',
    'window only if the program was not already tracing, and is stopped after.',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    const durationS = durationOption('--duration', opts.duration);
    const intervalS = durationOption('--interval', opts.interval);
    const signal = interruptSignal();
    const bar = new ProgressBar(process.stderr, durationS);
    const evidence = await gatherEvidence(pid, {
      ...attachSettings(opts, signal),
      durationS,
      intervalS,
      tracemalloc: opts.tracemalloc,
      trim: opts.trim,
      memwhyVersion: packageVersion(),
      onPhase: (phase, fraction) => bar.update(phase, fraction),
    });
    bar.done();
    const diagnosis = diagnose(evidence);
    if (opts.save) {
      mkdirSync(opts.save, { recursive: true });
      writeAtomic(join(opts.save, 'evidence.json'), JSON.stringify(evidence));
      process.stderr.write(`memwhy: evidence saved in ${opts.save} (memwhy report ${opts.save})\n`);
    }
    await emitDiagnosis(diagnosis, opts);
    return 0;
  },
};
