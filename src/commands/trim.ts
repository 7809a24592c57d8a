/** `memwhy trim PID`: have the target's allocator give free memory back to the OS, and measure it. */
import { summarizeTrim } from '../analyze/malloc.js';
import { withAgent } from '../attach/agentSession.js';
import { trimThroughAgent } from '../collect/malloc.js';
import { renderTrim } from '../report/malloc.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { durationOption } from './parse.js';
import { defineCommand, parsePid, printJson } from './spec.js';

export const trimCommand = defineCommand({
  name: 'trim',
  args: '<pid>',
  summary: 'make the allocator give free memory back to the OS, and report RSS before and after',
  options: [
    { flags: '--gc', description: 'run one gc.collect() first' },
    { flags: '--settle <duration>', description: 'wait this long after the call before reading RSS again', default: '200ms' },
    ...ATTACH_OPTIONS,
  ],
  help: [
    'Calls malloc_trim(0) under glibc, mallctl("arena.<ALL>.purge") under jemalloc,',
    'MallocExtension_ReleaseFreeMemory() under tcmalloc, mi_collect(true) under mimalloc.',
    "The call holds the allocator's locks while it runs: threads that allocate wait (the pause).",
    '',
    'Examples:',
    '  memwhy trim 4242',
    '  memwhy trim 4242 --gc --json',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    const settleMs = Math.round(durationOption('--settle', opts.settle, { allowZero: true }) * 1000);
    const evidence = await withAgent(pid, (s) => trimThroughAgent(s, { gc: opts.gc === true, settleMs }), attachSettings(opts, interruptSignal()));
    const summary = summarizeTrim(evidence);
    if (opts.json) printJson(summary);
    else process.stdout.write(renderTrim(summary));
    return summary.call === null ? 1 : 0;
  },
});
