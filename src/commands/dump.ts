/** `memwhy dump PID -o FILE`: write every live object of the target, with its references, to a file for `memwhy analyze`. */
import { withAgent } from '../attach/agentSession.js';
import { collectHeapDump } from '../collect/heapdump.js';
import { UserError } from '../errors.js';
import { formatBytes, formatInteger } from '../util/units.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { defineCommand, FORCE_OPTION, parsePid, printJson } from './spec.js';
import { checkOutputFile } from '../util/outputFile.js';

/** Fails before attaching, so a typo in -o does not cost the target a pause. */
export const dumpCommand = defineCommand({
  name: 'dump',
  args: '<pid>',
  summary: 'write every live Python object, its size and references to a file (memwhy analyze reads it)',
  options: [{ flags: '-o, --output <file>', description: 'the file to write (.mwd)' }, FORCE_OPTION, ...ATTACH_OPTIONS],
  help: [
    'The heap is walked and written by a copy-on-write child of the target (forked by the',
    'agent): the target is held only for the fork, milliseconds, and runs on while the child',
    "works. The child copies the pages it walks (it writes every object's reference count) and",
    "holds the dump's columns: about 1.4 times the target's anonymous memory at its peak.",
    'Where the child could need more memory than is left (or with --no-fork, or when the',
    'target cannot fork) the walk runs inside the target instead, in steps between which its',
    'threads run: the longest step is reported, and the graph takes 35-50 bytes per object of',
    "the target's memory until the file is written.",
    '',
    'Examples:',
    '  memwhy dump 4242 -o before.mwd',
    '  memwhy dump 4242 -o after.mwd && memwhy analyze before.mwd after.mwd',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    if (!opts.output) throw new UserError('give the file to write with -o FILE, as in "memwhy dump 4242 -o heap.mwd"');
    const output = opts.output;
    checkOutputFile(output, { force: opts.force });
    const settings = attachSettings(opts, interruptSignal());
    settings.onProgress?.(`dumping the heap of pid ${pid}`);
    const evidence = await withAgent(pid, (s) => collectHeapDump(s, output, { force: opts.force }), settings);
    if (opts.json) {
      printJson(evidence);
    } else {
      const rate = evidence.objects_per_s === null ? '' : `, ${(evidence.objects_per_s / 1e6).toFixed(2)} M objects/s`;
      const snap = evidence.snapshot;
      const cost = snap?.forked
        ? `the target was held ${evidence.pause_ms.toFixed(0)} ms for the fork; its copy walked the heap in ${((snap.child_ms ?? evidence.wall_ms) / 1000).toFixed(2)} s`
        : `the walk ran inside the target${snap?.why ? ` (${snap.why})` : ''}, holding it at most ${(evidence.pause_ms / 1000).toFixed(2)} s at a time`;
      process.stdout.write(`wrote ${output}: ${formatInteger(evidence.objects)} objects, ${formatInteger(evidence.edges)} references, ` + `${formatBytes(evidence.bytes)}; ${cost}${rate}\n`);
    }
    return 0;
  },
});
