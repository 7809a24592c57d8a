/** `memwhy analyze FILE [FILE2]`: who holds a heap dump's memory, or what grew between two dumps. No target needed. */
import { analyzeHeap, diffHeaps, groupHeap } from '../analyze/retainers.js';
import { UserError } from '../errors.js';
import { readDump } from '../heap/dumpFile.js';
import { renderHeapAnalysis, renderHeapDiff } from '../report/heapDump.js';
import { countOption } from './parse.js';
import { printJson, type CommandSpec } from './spec.js';

interface AnalyzeCliOptions {
  top: string;
  json?: boolean;
}

function progress(json: boolean | undefined): (line: string) => void {
  return json || !process.stderr.isTTY ? () => undefined : (line) => process.stderr.write(`memwhy: ${line}\n`);
}

async function run(files: string[], opts: AnalyzeCliOptions): Promise<number> {
  if (files.length === 0 || files.length > 2) {
    throw new UserError('give one heap dump to analyse, or two (earlier, later) to compare: memwhy analyze before.mwd after.mwd');
  }
  const top = countOption('--top', opts.top);
  const say = progress(opts.json);
  say(`reading ${files[0]}`);
  const a = readDump(files[0]!);
  say(`computing dominators of ${a.nodeCount.toLocaleString('en-US')} objects`);
  const ga = groupHeap(a);
  if (files.length === 1) {
    const analysis = analyzeHeap(a, ga, { top });
    if (opts.json) printJson(analysis);
    else process.stdout.write(renderHeapAnalysis(analysis));
    return 0;
  }
  say(`reading ${files[1]}`);
  const b = readDump(files[1]!);
  say(`computing dominators of ${b.nodeCount.toLocaleString('en-US')} objects`);
  const gb = groupHeap(b);
  const diff = diffHeaps(a, ga, b, gb, { top });
  if (opts.json) printJson(diff);
  else process.stdout.write(renderHeapDiff(diff));
  return 0;
}

export const analyzeCommand: CommandSpec<AnalyzeCliOptions> = {
  name: 'analyze',
  args: '<file> [file2]',
  summary: 'read a heap dump (memwhy dump): who holds the memory; with two dumps, what grew between them',
  options: [{ flags: '--top <n>', description: 'rows in each table', default: '15' }],
  help: [
    'Works anywhere: copy the dumps off the server and analyse them on a laptop.',
    'Each object is counted under the nearest holder with a name that keeps it alive (its',
    'dominator): a module global, a class attribute, a function, a thread\'s frame.',
    'With two dumps of one process, objects are matched by address and type; an address',
    'reused by a new object of the same type counts as old, so "new" is a lower bound.',
    '',
    'Examples:',
    '  memwhy analyze heap.mwd',
    '  memwhy analyze before.mwd after.mwd --top 30',
  ].join('\n'),
  run,
};
