/**
 * The shape every command file exports. One table of these drives both
 * argument parsing and --help (see cli.ts), so no command defines its options
 * twice.
 */
export interface OptionSpec {
  /** Commander flag syntax: '-c, --code <code>', '--json', '--interval <duration>'. */
  flags: string;
  description: string;
  default?: string | boolean;
}

export interface CommandSpec<Opts = Record<string, unknown>> {
  name: string;
  /** Positional arguments in commander syntax, e.g. '<pid>' or '[cmd...]'. */
  args?: string;
  summary: string;
  options: OptionSpec[];
  /** Extra lines for --help: examples and notes. */
  help?: string;
  /** Returns the process exit code. Throws UserError for bad input. */
  run(args: string[], opts: Opts): Promise<number>;
}

/** Every command takes --json: one JSON document on stdout, nothing else there. */
export const JSON_OPTION: OptionSpec = {
  flags: '--json',
  description: 'print one JSON document on stdout',
};

/**
 * Every command that writes a file the user named takes --force: without it,
 * an existing file memwhy did not write is refused (see util/outputFile.ts).
 */
export const FORCE_OPTION: OptionSpec = {
  flags: '--force',
  description: 'replace an existing output file (or fill a non-empty directory) that memwhy did not write',
};

/** The long flag of an option in `options` ('--timeout' of '--timeout <duration>'), undefined when there is none. */
export function findFlag(options: readonly OptionSpec[], long: string): string | undefined {
  const name = `--${long}`;
  return options.some((o) => o.flags.split(/[ ,]+/).includes(name)) ? name : undefined;
}

/**
 * The long flag of one of a command's options, read from its table: how a
 * command names a flag in what it prints, so a renamed option cannot leave
 * a stale name behind.
 */
export function flagOf(options: readonly OptionSpec[], long: string): string {
  const flag = findFlag(options, long);
  if (flag === undefined) throw new Error(`no --${long} in the option table`);
  return flag;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Parses a pid argument, or fails with a line saying what a pid is. */
export function parsePid(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) <= 0) {
    throw new PidError(text);
  }
  return Number(text);
}

import { UserError } from '../errors.js';

class PidError extends UserError {
  constructor(text: string | undefined) {
    super(`"${text ?? ''}" is not a pid: give the numeric process id (see "memwhy ps")`);
  }
}
