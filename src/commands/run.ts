/** `memwhy run -- CMD`: start a program under a chosen allocator, optionally recording its RSS. */
import { closeSync, openSync, writeSync, writeFileSync } from 'node:fs';
import {
  ALLOCATOR_NAMES,
  allocatorEnv,
  isAllocatorName,
  locateAllocator,
  type AllocatorEnv,
  type GlibcSettings,
} from '../collect/allocators.js';
import { superviseChild, type ChildResult } from '../collect/supervise.js';
import { isErrno, UserError } from '../errors.js';
import { describeAllocatorEnv, quoteCommand } from '../report/allocators.js';
import { recordCsvHeader, recordCsvRow, recordJson } from '../report/record.js';
import { formatSeconds } from '../util/units.js';
import { bytesOption, countOption, durationOption } from './parse.js';
import type { CommandSpec } from './spec.js';

interface RunOptions {
  allocator?: string;
  arenaMax?: string;
  trimThreshold?: string;
  record?: string;
  interval: string;
  json?: boolean;
}

function glibcSettings(opts: RunOptions): GlibcSettings {
  return {
    ...(opts.arenaMax !== undefined ? { arenaMax: countOption('--arena-max', opts.arenaMax) } : {}),
    ...(opts.trimThreshold !== undefined ? { trimThreshold: bytesOption('--trim-threshold', opts.trimThreshold) } : {}),
  };
}

/** Opens the record file before the program starts, so a bad path fails first. */
function openRecord(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (err) {
    const why = isErrno(err, 'ENOENT') ? 'no such directory' : isErrno(err, 'EACCES') ? 'permission denied' : String(err);
    throw new UserError(`cannot write --record ${path}: ${why}`);
  }
}

async function run(command: string[], opts: RunOptions): Promise<number> {
  if (opts.json) {
    throw new UserError("run gives stdout to the program: record RSS as JSON with --record FILE.json instead of --json");
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
  const fd = recordPath ? openRecord(recordPath) : undefined;
  const under = change ? `under ${name} (${describeAllocatorEnv(change)})` : 'with the allocator it inherits (environment unchanged)';
  const recording = recordPath ? `; recording RSS every ${formatSeconds(intervalS)} to ${recordPath}` : '';
  process.stderr.write(`memwhy: running ${quoteCommand(command)} ${under}${recording}\n`);

  let result: ChildResult;
  try {
    if (fd !== undefined && !asJson) writeSync(fd, recordCsvHeader());
    result = await superviseChild({
      command,
      env,
      stdio: 'inherit',
      intervalS,
      onSample: fd !== undefined && !asJson ? (s) => writeSync(fd, recordCsvRow(s)) : undefined,
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (recordPath && asJson) {
    writeFileSync(
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
    );
  }
  return result.exitCode;
}

export const runCommand: CommandSpec<RunOptions> = {
  name: 'run',
  args: '[command...]',
  summary: 'run a program under a chosen malloc (glibc, jemalloc, tcmalloc, mimalloc), optionally recording its RSS',
  options: [
    { flags: '--allocator <name>', description: `malloc to run under: ${ALLOCATOR_NAMES.join(', ')} (default: as inherited)` },
    { flags: '--arena-max <n>', description: 'glibc: at most this many malloc arenas (glibc.malloc.arena_max)' },
    { flags: '--trim-threshold <bytes>', description: 'glibc: free memory kept at the heap top before giving it back (glibc.malloc.trim_threshold)' },
    { flags: '--record <file>', description: 'write RSS over time to FILE: CSV (t_s,rss,rss_anon), or JSON if FILE ends in .json' },
    { flags: '--interval <duration>', description: 'time between RSS samples for --record', default: '500ms' },
  ],
  help: [
    'The program gets memwhy\'s stdin, stdout and stderr, and the signals memwhy receives',
    '(INT, TERM, HUP, QUIT, USR1, USR2); memwhy exits with its exit code (128+N if signal N killed it).',
    'Other allocators are preloaded (LD_PRELOAD); glibc settings go into GLIBC_TUNABLES.',
    '',
    'Examples:',
    '  memwhy run --allocator jemalloc -- python3 app.py',
    '  memwhy run --arena-max 2 --record rss.csv -- gunicorn app:app',
  ].join('\n'),
  run,
};
