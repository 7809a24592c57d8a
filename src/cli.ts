#!/usr/bin/env node
/**
 * The entry: maps argv to a command from the table and errors to exit codes.
 * User errors print one line; anything else is a bug and prints its stack
 * only under --debug.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { wordError } from './commands/errorWords.js';
import { JSON_OPTION, type OptionSpec } from './commands/spec.js';
import { UserError } from './errors.js';
import { packageVersion } from './version.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('memwhy')
    .description("Why does this Python process's memory keep growing? Attach by pid, measure, explain.")
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'show stack traces for internal errors')
    .exitOverride()
    .showHelpAfterError('(run "memwhy --help" for usage)');
  let exitCode = 0;
  for (const spec of COMMANDS) {
    const cmd = program.command(spec.name).description(spec.summary).exitOverride();
    if (spec.args) cmd.arguments(spec.args);
    const options: readonly OptionSpec[] = [...spec.options, JSON_OPTION];
    for (const opt of options) cmd.option(opt.flags, opt.description, opt.default);
    if (spec.help) cmd.addHelpText('after', '\n' + spec.help);
    cmd.action(async (...params: unknown[]) => {
      const command = params[params.length - 1] as Command;
      const positional = command.processedArgs.flatMap((a: unknown) => (a === undefined ? [] : Array.isArray(a) ? a.map(String) : [String(a)]));
      try {
        exitCode = await spec.start(positional, command);
      } catch (err) {
        // Errors from below commands/ know no flags: the advice that names one is added here.
        throw wordError(err, spec);
      }
    });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed help, the version or the parse error.
      return err.exitCode;
    }
    if (err instanceof UserError) {
      process.stderr.write(`memwhy: ${err.message}\n`);
      if (program.opts().debug) process.stderr.write(`${err.stack}\n`);
      return err.exitCode;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`memwhy: internal error: ${e.message}\n`);
    if (program.opts().debug) process.stderr.write(`${e.stack}\n`);
    else process.stderr.write('memwhy: run again with --debug for details, and please report it\n');
    return 70;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`memwhy: ${String(err)}\n`);
    process.exitCode = 70;
  },
);
