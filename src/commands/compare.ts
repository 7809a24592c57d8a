/** `memwhy compare -- CMD`: the same workload under each allocator, RSS side by side. */
import { constants } from 'node:os';
import { describeRun, summarizeComparison } from '../analyze/compare.js';
import { DEFAULT_SETUPS, parseSetup, prepareSetups, runComparison, type CompareProgress } from '../collect/compare.js';
import { UserError } from '../errors.js';
import { describeAllocatorEnv } from '../report/allocators.js';
import { renderCompareHtml, renderCompareText } from '../report/compare.js';
import { formatBytes, formatSeconds } from '../util/units.js';
import { countOption, durationOption } from './parse.js';
import { packageVersion } from '../version.js';
import { defineCommand, FORCE_OPTION, printJson, type CommandOptions, type OptionSpec } from './spec.js';
import { checkOutputFile, writeOutputFile } from '../util/outputFile.js';

const OPTIONS = [
  {
    flags: '--allocators <list>',
    description: 'comma-separated: glibc, glibc-arenaN (arena_max=N), jemalloc, tcmalloc, mimalloc',
    default: DEFAULT_SETUPS.join(','),
  },
  { flags: '--repeat <n>', description: 'runs per allocator; the table shows medians', default: '1' },
  { flags: '--interval <duration>', description: 'time between RSS samples', default: '200ms' },
  { flags: '--timeout <duration>', description: 'kill a run that takes longer than this', default: '30m' },
  { flags: '--html <file>', description: 'also write a static HTML page with the table and the RSS curves' },
  { flags: '--quiet', description: "discard the workload's stdout (by default it goes to stderr)" },
  FORCE_OPTION,
] as const satisfies readonly OptionSpec[];

type CompareOptions = CommandOptions<typeof OPTIONS>;

function progress(event: CompareProgress): void {
  const tag = `memwhy: [${event.index}/${event.total}] ${event.setup.label}`;
  if (event.kind === 'start') {
    process.stderr.write(`${tag}: running (${describeAllocatorEnv(event.setup.env)})\n`);
    return;
  }
  const r = describeRun(event.run);
  const status = event.timedOut ? ', killed at the timeout' : r.exit_code !== 0 ? `, exit code ${r.exit_code}` : '';
  process.stderr.write(`${tag}: mean ${formatBytes(r.mean_rss)}, peak ${formatBytes(r.peak_rss)}, final ${formatBytes(r.final_rss)}, ` + `${formatSeconds(r.wall_s)}${status}\n`);
}

async function run(command: string[], opts: CompareOptions): Promise<number> {
  if (command.length === 0) throw new UserError('no command given: put it after --, as in "memwhy compare -- python3 bench.py"');
  const labels = opts.allocators
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (labels.length === 0) throw new UserError(`--allocators takes a list such as ${DEFAULT_SETUPS.join(',')}`);
  const setups = labels.map(parseSetup);
  const repeat = countOption('--repeat', opts.repeat);
  const intervalS = durationOption('--interval', opts.interval);
  const timeoutS = durationOption('--timeout', opts.timeout);
  if (opts.html) checkOutputFile(opts.html, { force: opts.force });

  const { ready, missing } = prepareSetups(setups, process.env);
  for (const m of missing) process.stderr.write(`memwhy: skipping ${m.label}: ${m.reason}\n`);
  if (ready.length === 0) throw new UserError('none of the allocators asked for is installed (see above)');

  const comparison = await runComparison(ready, {
    command,
    repeat,
    intervalS,
    timeoutS,
    // The workload's stdout goes to stderr so that stdout holds only memwhy's report.
    stdio: ['ignore', opts.quiet ? 'ignore' : 2, 'inherit'],
    onProgress: progress,
  });
  if (comparison.interrupted) {
    process.stderr.write(`memwhy: stopped by ${comparison.interrupted}; no report\n`);
    return 128 + constants.signals[comparison.interrupted];
  }

  const runs = comparison.runs.map(describeRun);
  const summary = summarizeComparison(runs);
  if (opts.html) {
    writeOutputFile(opts.html, renderCompareHtml({ command, runs, summary }, packageVersion()), { force: opts.force });
    process.stderr.write(`memwhy: wrote ${opts.html}\n`);
  }
  if (opts.json) printJson({ command, runs, summary });
  else process.stdout.write(renderCompareText(summary, repeat));
  return 0;
}

export const compareCommand = defineCommand({
  name: 'compare',
  args: '[command...]',
  summary: 'run the same workload under each allocator and compare peak, final and mean RSS',
  options: OPTIONS,
  help: [
    'Runs one after another, so they do not compete for memory or CPU. Allocators that are',
    'not installed are skipped with the apt-get line that installs them.',
    'The workload should reproduce the memory growth and then fall quiet, so the final RSS shows',
    'what each allocator keeps; workloads/fragment.py is one.',
    '',
    'Examples:',
    '  memwhy compare -- python3 workloads/fragment.py',
    '  memwhy compare --allocators glibc,jemalloc --repeat 3 --html rss.html -- python3 load_test.py',
  ].join('\n'),
  run,
});
