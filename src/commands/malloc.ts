/** `memwhy malloc PID`: where the RSS is, allocator by allocator, every line measured. */
import { breakdownMalloc } from '../analyze/malloc.js';
import { withAgent } from '../attach/agentSession.js';
import { collectMalloc } from '../collect/malloc.js';
import { renderMalloc } from '../report/malloc.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { defineCommand, parsePid, printJson } from './spec.js';

export const mallocCommand = defineCommand({
  name: 'malloc',
  args: '<pid>',
  summary: "break RSS down by allocator: Python objects, malloc's memory in use and free-but-held, stacks",
  options: [...ATTACH_OPTIONS],
  help: [
    "Reads pymalloc's statistics and the C allocator's counters inside the target (glibc mallinfo2 and",
    'malloc_info, jemalloc mallctl, tcmalloc MallocExtension, mimalloc mi_process_info), and the mappings',
    'from /proc/PID/smaps. Exits 0; the retention finding is in the output.',
    '',
    'Examples:',
    '  memwhy malloc 4242',
    '  memwhy malloc 4242 --json | jq .derived.retention',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    const evidence = await withAgent(pid, (s) => collectMalloc(s), attachSettings(opts, interruptSignal()));
    const breakdown = breakdownMalloc(evidence);
    if (opts.json) printJson(breakdown);
    else process.stdout.write(renderMalloc(breakdown));
    return 0;
  },
});
