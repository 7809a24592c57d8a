/** `memwhy run -- CMD`: start a program under a chosen allocator, optionally recording its RSS. */
import { ALLOCATOR_NAMES, allocatorEnv, isAllocatorName, locateAllocator, type AllocatorEnv, type GlibcSettings } from '../collect/allocators.js';
import { superviseChild, type ChildResult } from '../collect/supervise.js';
import { UserError } from '../errors.js';
import { describeAllocatorEnv, quoteCommand } from '../report/allocators.js';
import { recordCsvHeader, recordCsvRow, recordJson } from '../report/record.js';
import { formatSeconds } from '../util/units.js';
import { bytesOption, countOption, durationOption } from './parse.js';
import { defineCommand, FORCE_OPTION, type CommandOptions, type OptionSpec } from './spec.js';
import { checkOutputFile, OutputStream, writeOutputFile } from '../util/outputFile.js';

const OPTIONS = [
  { flags: '--allocator <name>', description: `malloc to run under: ${ALLOCATOR_NAMES.join(', ')} (default: as inherited)` },
  { flags: '--arena-max <n>', description: 'glibc: at most this many malloc arenas (glibc.malloc.arena_max)' },
  { flags: '--trim-threshold <bytes>', description: 'glibc: free memory kept at the heap top before giving it back (glibc.malloc.trim_threshold)' },
  { flags: '--record <file>', description: 'write RSS over time to FILE: CSV (t_s,rss,rss_anon), or JSON if FILE ends in .json' },
  { flags: '--interval <duration>', description: 'time between RSS samples for --record', default: '500ms' },
  FORCE_OPTION,
] as const satisfies readonly OptionSpec[];

type RunOptions = CommandOptions<typeof OPTIONS>;

function glibcSettings(opts: RunOptions): GlibcSettings {
  return {
    ...(opts.arenaMax !== undefined ? { arenaMax: countOption('--arena-max', opts.arenaMax) } : {}),
    ...(opts.trimThreshold !== undefined ? { trimThreshold: bytesOption('--trim-threshold', opts.trimThreshold) } : {}),
  };
}

async function run(command: string[], opts: RunOptions): Promise<number> {
  if (opts.json) {
    throw new UserError('run gives stdout to the program: record RSS as JSON with --record FILE.json instead of --json');
  }
  if (command.length === 0) throw new UserError('no command given: put it after --, as in "memwhy run -- python3 app.py"');
  const settings = glibcSettings(opts);
  // Glibc settings without --allocator mean glibc; neither means "as inherited".
  const name = opts.allocator ?? (Object.keys(settings).length > 0 ? 'glibc' : undefined);
  if (name !== undefined && !isAllocatorName(name)) {
    throw new UserError(`unknown allocator "${name}": choose from ${ALLOCATOR_NAMES.join(', ')}`);
  }
  const intervalS = durationOption('--interval', opts.interval);
  const change: AllocatorEnv | undefined = name ? allocatorEnv(locateAllocator(name), settings, process.env) : undefined;
  const env = change?.env ?? Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));

  const recordPath = opts.record;
  const asJson = recordPath?.toLowerCase().endsWith('.json') ?? false;
  // A bad or refused path fails before the program starts. CSV rows go to a
  // temp file beside it as they come, put in place when the program exits.
  if (recordPath) checkOutputFile(recordPath, { force: opts.force });
  const csv = recordPath && !asJson ? OutputStream.open(recordPath, { force: opts.force }) : undefined;
  const under = change ? `under ${name} (${describeAllocatorEnv(change)})` : 'with the allocator it inherits (environment unchanged)';
  const recording = recordPath ? `; recording RSS every ${formatSeconds(intervalS)} to ${recordPath}` : '';
  process.stderr.write(`memwhy: running ${quoteCommand(command)} ${under}${recording}\n`);

  let result: ChildResult;
  try {
    csv?.write(recordCsvHeader());
    result = await superviseChild({
      command,
      env,
      stdio: 'inherit',
      intervalS,
      onSample: csv ? (s) => csv.write(recordCsvRow(s)) : undefined,
    });
  } catch (err) {
    csv?.abort();
    throw err;
  }
  csv?.commit();
  if (recordPath && asJson) {
    writeOutputFile(
      recordPath,
      recordJson(
        {
          command,
          allocator: name ?? 'inherited',
          env: change?.set ?? {},
          interval_s: intervalS,
          exit_code: result.exitCode,
          wall_s: result.wallS,
        },
        result.samples,
      ),
      { force: opts.force },
    );
  }
  return result.exitCode;
}

export const runCommand = defineCommand({
  name: 'run',
  args: '[command...]',
  summary: 'run a program under a chosen malloc (glibc, jemalloc, tcmalloc, mimalloc), optionally recording its RSS',
  options: OPTIONS,
  help: [
    "The program gets memwhy's stdin, stdout and stderr, and the signals memwhy receives",
    '(INT, TERM, HUP, QUIT, USR1, USR2); memwhy exits with its exit code (128+N if signal N killed it).',
    'Other allocators are preloaded (LD_PRELOAD); glibc settings go into GLIBC_TUNABLES.',
    'The --record file appears, whole, when the program exits (the rows go to a hidden temp file beside it until then).',
    '',
    'Examples:',
    '  memwhy run --allocator jemalloc -- python3 app.py',
    '  memwhy run --arena-max 2 --record rss.csv -- gunicorn app:app',
  ].join('\n'),
  run,
});
