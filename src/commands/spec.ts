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
