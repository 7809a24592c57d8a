/** `memwhy gc PID`: the cyclic collector's state and gc.garbage; --collect runs one collection. */
import { withAgent } from '../attach/agentSession.js';
import { collectGarbage, collectGcState, type GcCollection } from '../collect/gc.js';
import { renderGc } from '../report/gc.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { defineCommand, parsePid, printJson } from './spec.js';

export const gcCommand = defineCommand({
  name: 'gc',
  args: '<pid>',
  summary: "show the garbage collector's state and what it could not free (gc.garbage, with the cycles)",
  options: [{ flags: '--collect', description: 'also run one full collection and report what it freed (changes the target)' }, ...ATTACH_OPTIONS],
  help: [
    'Without --collect nothing is collected: memwhy only reads gc settings, counters and gc.garbage.',
    'gc.garbage is grouped by type, with the shortest reference cycle through the object that has',
    '__del__ (before Python 3.4 such a cycle is never freed).',
    '',
    'Examples:',
    '  memwhy gc 4242',
    '  memwhy gc 4242 --collect --json',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    const { state, collection } = await withAgent(
      pid,
      async (s) => {
        let collection: GcCollection | undefined;
        if (opts.collect) collection = await collectGarbage(s, 2);
        // After the collection, so gc.garbage shows what it could not free.
        return { state: await collectGcState(s), collection };
      },
      attachSettings(opts, interruptSignal()),
    );
    if (opts.json) printJson({ pid, ...state, ...(collection ? { collection } : {}) });
    else process.stdout.write(renderGc(pid, state, collection));
    return 0;
  },
});
