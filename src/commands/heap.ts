/** `memwhy heap PID`: every live object by type (or module), guppy's table, from a census inside the target. */
import { tabulateCensus, type GroupBy } from '../analyze/census.js';
import { withAgent } from '../attach/agentSession.js';
import { collectCensus } from '../collect/census.js';
import { UserError } from '../errors.js';
import { renderHeap } from '../report/heap.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { countOption } from './parse.js';
import { defineCommand, parsePid, printJson } from './spec.js';

export function groupByOption(text: string): GroupBy {
  if (text !== 'type' && text !== 'module') throw new UserError(`--by takes "type" or "module", not "${text}"`);
  return text;
}

export const heapCommand = defineCommand({
  name: 'heap',
  args: '<pid>',
  summary: 'count every live Python object by type: objects, bytes and shares, like guppy',
  options: [{ flags: '--top <n>', description: 'rows to show', default: '25' }, { flags: '--by <what>', description: 'group by "type" or by "module"', default: 'type' }, ...ATTACH_OPTIONS],
  help: [
    'Counts every object the collector tracks and every str, int, float, bytes and untracked tuple',
    'or dict they refer to, each once; bytes are shallow (sys.getsizeof). Other threads are held off',
    'during the walk (the pause is reported); nothing is collected.',
    '',
    'Examples:',
    '  memwhy heap 4242',
    '  memwhy heap 4242 --by module --top 10',
    '  memwhy heap 4242 --json | jq ".types[:5]"',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    const top = countOption('--top', opts.top);
    const by = groupByOption(opts.by);
    // Grouping by module needs every type; by type, the agent sends only the top.
    const census = await withAgent(pid, (s) => collectCensus(s, by === 'type' ? { top } : {}), attachSettings(opts, interruptSignal()));
    const table = tabulateCensus(census, { by, top });
    if (opts.json) {
      printJson({
        pid,
        by,
        total: census.total,
        pause_ms: census.pause_ms,
        wall_ms: census.wall_ms,
        objects_per_s: census.objects_per_s,
        // Whether the walk ran in a forked child (the target held only for the fork) or in the target, and why.
        snapshot: census.snapshot ?? null,
        types: census.types.slice(0, top),
        ...(by === 'module' ? { modules: table.rows.map(({ name, count, bytes }) => ({ module: name, count, bytes })) } : {}),
      });
    } else {
      process.stdout.write(renderHeap({ pid, table, pause_ms: census.pause_ms, wall_ms: census.wall_ms, objects_per_s: census.objects_per_s }));
    }
    return 0;
  },
});
