/** `memwhy exec PID -c CODE | --file script.py`: run code inside the target. */
import { readFileSync } from 'node:fs';
import { withAgent } from '../attach/agentSession.js';
import { UserError } from '../errors.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { defineCommand, parsePid, printJson, type CommandOptions, type OptionSpec } from './spec.js';

const OPTIONS = [
  { flags: '-c, --code <code>', description: 'the code to run' },
  { flags: '--file <script.py>', description: 'a file of code to run' },
  ...ATTACH_OPTIONS,
] as const satisfies readonly OptionSpec[];

type ExecOptions = CommandOptions<typeof OPTIONS>;

/** What the agent's repl.run returns. */
export interface RunResult {
  stdout: string;
  stderr: string;
  exception: { type: string; message: string; traceback: string } | null;
}

function sourceFrom(opts: ExecOptions): { source: string; filename: string } {
  if ((opts.code === undefined) === (opts.file === undefined)) {
    throw new UserError('give the code to run with -c CODE or --file script.py (one of them)');
  }
  if (opts.code !== undefined) return { source: opts.code, filename: '<memwhy exec>' };
  try {
    return { source: readFileSync(opts.file!, 'utf8'), filename: opts.file! };
  } catch (err) {
    throw new UserError(`cannot read ${opts.file}: ${(err as Error).message}`);
  }
}

export const execCommand = defineCommand({
  name: 'exec',
  args: '<pid>',
  summary: 'run Python code inside a running process and show its output',
  options: OPTIONS,
  help: [
    "The code runs in a namespace of its own; `import __main__` reaches the program's globals.",
    'Exits 1 when the code raised an exception.',
    '',
    'Examples:',
    "  memwhy exec 4242 -c 'import sys; print(len(sys.modules))'",
    '  memwhy exec 4242 --file inspect_cache.py',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    const { source, filename } = sourceFrom(opts);
    const started = Date.now();
    const { result, attach } = await withAgent(
      pid,
      async (s) => ({ result: await s.call<RunResult>('repl.run', { source, filename }), attach: s.inject }),
      // Only repl: the default modules would be compiled in the target for nothing.
      { ...attachSettings(opts, interruptSignal()), modules: ['repl'] },
    );
    if (opts.json) {
      const timing = {
        transport: attach.transport,
        safe_point: attach.safePoint,
        gdb_ms: attach.gdbMs,
        safe_point_ms: attach.safePointMs,
        stopped_ms: attach.stoppedMs,
        ...(attach.fallback === undefined ? {} : { fallback: attach.fallback }),
        total_ms: Date.now() - started,
      };
      printJson({ pid, ok: result.exception === null, ...result, attach: timing });
    } else {
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      if (result.exception) process.stderr.write(result.exception.traceback);
    }
    return result.exception ? 1 : 0;
  },
});
