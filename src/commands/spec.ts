/**
 * The shape every command file exports. One table of these drives both
 * argument parsing and --help (see cli.ts), so no command defines its options
 * twice; the type of the options a command's run receives is computed from the
 * same table (optionTypes.ts).
 */
import type { Command } from 'commander';
import type { OptionsOf } from './optionTypes.js';

export interface OptionSpec {
  /** Commander flag syntax: '-c, --code <code>', '--json', '--interval <duration>'. */
  readonly flags: string;
  readonly description: string;
  readonly default?: string | boolean;
}

/** Refuses a table with an entry whose flags are not a literal type: declare the entry `as const satisfies OptionSpec`. */
type LiteralFlags<O extends readonly OptionSpec[]> = string extends O[number]['flags'] ? { options: 'an entry of this table has flags of type string: declare it as const' } : unknown;

/** The options commander parses for a command with the table `O`: its own and --json, which every command takes. */
export type CommandOptions<O extends readonly OptionSpec[]> = OptionsOf<readonly [...O, typeof JSON_OPTION]>;

export interface CommandSpec<O extends readonly OptionSpec[]> {
  name: string;
  /** Positional arguments in commander syntax, e.g. '<pid>' or '[cmd...]'. */
  args?: string;
  summary: string;
  options: O;
  /** Extra lines for --help: examples and notes. */
  help?: string;
  /** Returns the process exit code. Throws UserError for bad input. */
  run(args: string[], opts: CommandOptions<O>): Promise<number>;
}

/**
 * A command as the list in index.ts holds it, whatever its table. cli.ts
 * registers `options` on a commander Command and, once it has parsed argv,
 * hands that Command to `start`, which gives run commander's option values
 * typed from the very table they were parsed with.
 */
export interface CommandEntry extends Omit<CommandSpec<readonly OptionSpec[]>, 'run'> {
  start(args: string[], parsed: Command): Promise<number>;
}

/**
 * A command from its spec. The `const` type parameter keeps the flags of a
 * table written inline as literal types, from which run's options are typed;
 * an entry whose flags are only `string` (a constant declared `: OptionSpec`)
 * would type nothing, so it is refused.
 */
export function defineCommand<const O extends readonly OptionSpec[]>(spec: CommandSpec<O> & LiteralFlags<O>): CommandSpec<O> & CommandEntry {
  return { ...spec, start: (args, parsed) => spec.run(args, parsed.opts<CommandOptions<O>>()) };
}

/** Every command takes --json: one JSON document on stdout, nothing else there. */
export const JSON_OPTION = {
  flags: '--json',
  description: 'print one JSON document on stdout',
} as const satisfies OptionSpec;

/**
 * Every command that writes a file the user named takes --force: without it,
 * an existing file memwhy did not write is refused (see util/outputFile.ts).
 */
export const FORCE_OPTION = {
  flags: '--force',
  description: 'replace an existing output file (or fill a non-empty directory) that memwhy did not write',
} as const satisfies OptionSpec;

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
