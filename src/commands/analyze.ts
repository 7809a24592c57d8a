/** `memwhy analyze FILE [FILE2]`: who holds a heap dump's memory, or what grew between two dumps. No target needed. */
import { explorerTree } from '../analyze/heapTree.js';
import { analyzeHeap, diffHeaps, groupHeap, matchObjects, summarize, type HeapDiff, type HeapGroups } from '../analyze/retainers.js';
import { UserError } from '../errors.js';
import { readDump, type HeapDump } from '../heap/dumpFile.js';
import { renderHeapAnalysis, renderHeapDiff } from '../report/heapDump.js';
import { checkOutputFile, writeOutputFile } from '../util/outputFile.js';
import { packageVersion } from '../version.js';
import { countOption } from './parse.js';
import { defineCommand, FORCE_OPTION, printJson, type CommandOptions, type OptionSpec } from './spec.js';
import { formatInteger } from '../util/units.js';
import { rerunWithHugePages } from '../util/hugePages.js';
import { statSync } from 'node:fs';

const OPTIONS = [
  { flags: '--top <n>', description: 'rows in each table', default: '15' },
  { flags: '--html <file>', description: 'also write the dominator tree as a page to explore in a browser (with two dumps: the later one, new objects marked)' },
  FORCE_OPTION,
] as const satisfies readonly OptionSpec[];

type AnalyzeCliOptions = CommandOptions<typeof OPTIONS>;

/** The explorer page: the later dump's dominator tree, with what is new in it when there are two. */
async function writeExplorer(path: string, dump: HeapDump, groups: HeapGroups, force: boolean | undefined, compare?: { isNew: Uint8Array; diff: HeapDiff }): Promise<void> {
  // Loaded only when asked for, like diagnose's viewer.
  const { loadExplorerAssets, renderHeapTreeHtml } = await import('../report/heapTreeHtml.js');
  const tree = explorerTree({ dump, groups, summary: summarize(dump, groups), isNew: compare?.isNew, diff: compare?.diff });
  writeOutputFile(path, renderHeapTreeHtml(tree, packageVersion(), loadExplorerAssets()), { force });
}

function sizeOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // readDump says what is wrong with it
  }
}

function progress(json: boolean | undefined): (line: string) => void {
  return json || !process.stderr.isTTY ? () => undefined : (line) => process.stderr.write(`memwhy: ${line}\n`);
}

async function run(files: string[], opts: AnalyzeCliOptions): Promise<number> {
  if (files.length === 0 || files.length > 2) {
    throw new UserError('give one heap dump to analyse, or two (earlier, later) to compare: memwhy analyze before.mwd after.mwd');
  }
  const top = countOption('--top', opts.top);
  // Before the slow part: a refused --html should not cost a minute of reading.
  if (opts.html) checkOutputFile(opts.html, { force: opts.force });
  const rerun = rerunWithHugePages(files.reduce((sum, f) => sum + sizeOrZero(f), 0));
  if (rerun !== undefined) return rerun;
  const say = progress(opts.json);
  say(`reading ${files[0]}`);
  const a = readDump(files[0]!);
  say(`computing dominators of ${formatInteger(a.nodeCount)} objects`);
  const ga = groupHeap(a);
  if (files.length === 1) {
    const analysis = analyzeHeap(a, ga, { top });
    if (opts.html) {
      say(`writing ${opts.html}`);
      await writeExplorer(opts.html, a, ga, opts.force);
    }
    if (opts.json) printJson(analysis);
    else process.stdout.write(renderHeapAnalysis(analysis));
    return 0;
  }
  say(`reading ${files[1]}`);
  const b = readDump(files[1]!);
  say(`computing dominators of ${formatInteger(b.nodeCount)} objects`);
  const gb = groupHeap(b);
  const matched = matchObjects(a, b);
  const diff = diffHeaps(a, ga, b, gb, { top }, matched);
  if (opts.html) {
    say(`writing ${opts.html}`);
    await writeExplorer(opts.html, b, gb, opts.force, { isNew: matched.isNew, diff });
  }
  if (opts.json) printJson(diff);
  else process.stdout.write(renderHeapDiff(diff));
  return 0;
}

export const analyzeCommand = defineCommand({
  name: 'analyze',
  args: '<file> [file2]',
  summary: 'read a heap dump (memwhy dump): who holds the memory; with two dumps, what grew between them',
  options: OPTIONS,
  help: [
    'Works anywhere: copy the dumps off the server and analyse them on a laptop.',
    'Each object is counted under the nearest holder with a name that keeps it alive (its',
    "dominator): a module global, a class attribute, a function, a thread's frame.",
    'With two dumps of one process, objects are matched by address and type; an address',
    'reused by a new object of the same type counts as old, so "new" is a lower bound.',
    'The --html page holds every holder retaining at least 0.05 % of the heap and the five',
    'largest objects under each; it says how much it left out.',
    '',
    'Examples:',
    '  memwhy analyze heap.mwd',
    '  memwhy analyze before.mwd after.mwd --top 30',
    '  memwhy analyze before.mwd after.mwd --html grew.html',
  ].join('\n'),
  run,
});
