/**
 * src/commands/optionTypes.ts: the options type computed from an option table
 * is what commander gives. Each table is parsed by commander as cli.ts does,
 * and the result compared with a value whose type `tsc -p tsconfig.tests.json`
 * checks to be exactly the computed one; the @ts-expect-error lines check that
 * the compiler refuses what a table does not allow (an unused one fails tsc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import type { OptionsOf } from '../../src/commands/optionTypes.js';
import { defineCommand, JSON_OPTION, type OptionSpec } from '../../src/commands/spec.js';
import { diagnoseCommand } from '../../src/commands/diagnose.js';
import { stacksCommand } from '../../src/commands/stacks.js';

/** true when A and B are the same type, not merely assignable one to the other. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** A type-level assertion: `same<Equal<A, B>>(true)` compiles only when A and B are the same type. */
function same<T extends true>(ok: T): T {
  return ok;
}

/** The table's options as commander parses `argv`, registered as cli.ts registers a command's. */
function parse(table: readonly OptionSpec[], argv: string[]): Command {
  const cmd = new Command('probe').exitOverride();
  for (const opt of table) cmd.option(opt.flags, opt.description, opt.default);
  return cmd.parse(argv, { from: 'user' });
}

/** Every form of flags string: those the tables use, and variadic and optional values. */
const TABLE = [
  { flags: '--json', description: 'a flag' },
  { flags: '--no-trim', description: 'a negated flag' },
  { flags: '--quiet', description: 'a flag with a default', default: false },
  { flags: '--html <file>', description: 'a value' },
  { flags: '--top <n>', description: 'a value with a default', default: '15' },
  { flags: '-o, --output <file>', description: 'a short alias' },
  { flags: '--max-depth <n>', description: 'a dashed name' },
  { flags: '--pid <pid...>', description: 'a variadic value' },
  { flags: '--color [when]', description: 'an optional value' },
] as const satisfies readonly OptionSpec[];

type Options = OptionsOf<typeof TABLE>;

test('the type of every form of flags string is what commander stores', () => {
  same<Equal<Options, { json?: true; trim: boolean; quiet: boolean; html?: string; top: string; output?: string; maxDepth?: string; pid?: string[]; color?: string | true }>>(true);
});

test('options with a default, and negated flags, are set when nothing is given; the others are absent', () => {
  const presets: Options = { trim: true, quiet: false, top: '15' };
  assert.deepEqual({ ...parse(TABLE, []).opts() }, presets);
});

test('each option given on the command line has the type computed for it', () => {
  const argv = ['--json', '--no-trim', '--quiet', '--html', 'a.html', '--top', '3', '-o', 'out', '--max-depth', '7', '--pid', '12', '34', '--color'];
  const given: Options = { json: true, trim: false, quiet: true, html: 'a.html', top: '3', output: 'out', maxDepth: '7', pid: ['12', '34'], color: true };
  assert.deepEqual({ ...parse(TABLE, argv).opts() }, given);
  const colored: Options = { trim: true, quiet: false, top: '15', color: 'never' };
  assert.deepEqual({ ...parse(TABLE, ['--color', 'never']).opts() }, colored);
});

test("a command's run is typed from its own table, with --json and the shared attach options", () => {
  type Diagnose = Parameters<typeof diagnoseCommand.run>[1];
  same<Equal<Diagnose['tracemalloc'], boolean>>(true);
  same<Equal<Diagnose['workersWindow'], string>>(true);
  same<Equal<Diagnose['html'], string | undefined>>(true);
  same<Equal<Diagnose['fork'], boolean>>(true);
  same<Equal<Diagnose['json'], true | undefined>>(true);
  // stacks takes --transport through TRANSPORT_OPTION: typed without being written again.
  same<Equal<Parameters<typeof stacksCommand.run>[1]['transport'], string>>(true);
});

test('start hands run the options commander parsed from the table', async () => {
  let seen: unknown;
  const probe = defineCommand({
    name: 'probe',
    summary: 'a command to test with',
    options: [
      { flags: '--every <duration>', description: 'no default' },
      { flags: '--times <n>', description: 'a default', default: '3' },
    ],
    async run(_args, opts) {
      const every: string | undefined = opts.every;
      const times: string = opts.times;
      // @ts-expect-error --every has no default: it may be absent
      const always: string = opts.every;
      // @ts-expect-error the table has no --top
      const top: unknown = opts.top;
      seen = { every, times, always, top, json: opts.json };
      return 0;
    },
  });
  assert.equal(await probe.start(['x'], parse([...probe.options, JSON_OPTION], ['--every', '2s', '--json'])), 0);
  assert.deepEqual(seen, { every: '2s', times: '3', always: '2s', top: undefined, json: true });
});

test('a table entry whose flags are only a string is refused, for it would type nothing', () => {
  const wide: OptionSpec = { flags: '--wide', description: 'declared without as const' };
  const spec = {
    name: 'wide',
    summary: 'a command to test with',
    options: [wide],
    run: async (): Promise<number> => 0,
  };
  // @ts-expect-error the flags of `wide` are string, not '--wide'
  assert.equal(defineCommand(spec).name, 'wide');
});
