/** `memwhy core`: dump a live process to a core file with gdb's gcore, for `memwhy stacks --core` here or elsewhere. */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { dumpCore, type CoreDump } from '../memory/gcore.js';
import { defineCommand, FORCE_OPTION, parsePid, printJson, type CommandOptions, type OptionSpec } from './spec.js';
import { moveOutputFile, reserveTempFile } from '../util/outputFile.js';
import { formatBytes, parseDuration } from '../util/units.js';
import { UserError } from '../errors.js';

const OPTIONS = [
  { flags: '-o, --output <file>', description: 'where to write the core (default: core.PID)' },
  { flags: '--timeout <duration>', description: 'give up (and detach) after this long', default: '120s' },
  FORCE_OPTION,
] as const satisfies readonly OptionSpec[];

type CoreOptions = CommandOptions<typeof OPTIONS>;

async function run(args: string[], opts: CoreOptions): Promise<number> {
  const pid = parsePid(args[0]);
  let timeoutSeconds: number;
  try {
    timeoutSeconds = parseDuration(opts.timeout);
  } catch (err) {
    throw new UserError(`--timeout: ${err instanceof Error ? err.message : String(err)}`);
  }
  const output = resolve(opts.output ?? `core.${pid}`);
  // gdb writes into a temp file beside the output (made 0600 here: a core holds
  // all the process's memory), which replaces it only once complete, and only if
  // the rules of util/outputFile.ts allow (an existing core needs --force).
  const file = { force: opts.force, mode: 0o600, unmarked: 'core file' };
  const tmp = reserveTempFile(output, file);
  let dump: CoreDump;
  try {
    dump = await dumpCore(pid, tmp, {
      timeoutMs: timeoutSeconds * 1000,
      onStart: () => process.stderr.write(`memwhy: dumping pid ${pid} to ${output} with gdb (the process is paused meanwhile)...\n`),
    });
    moveOutputFile(tmp, output, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  dump = { ...dump, core: output };
  if (opts.json) printJson(dump);
  else process.stdout.write(`${dump.core}: ${formatBytes(dump.bytes)}, pid ${pid} paused ${dump.seconds.toFixed(1)} s\n`);
  return 0;
}

export const coreCommand = defineCommand({
  name: 'core',
  args: '<pid>',
  summary: 'dump a process to a core file with gdb (for "memwhy stacks --core")',
  options: OPTIONS,
  help: [
    'Examples:',
    '  memwhy core 1234 -o app.core',
    '  memwhy stacks --core app.core',
    '',
    'Runs gdb -batch -readnever: the process stops while its memory is written and is',
    'detached and continued on every path, including a timeout or Ctrl-C.',
  ].join('\n'),
  run,
});
