/**
 * The options object commander hands a command, computed from the command's
 * option table (spec.ts), so that a flag added to a table is typed in the
 * command's run without being written a second time. It follows what commander
 * does with each `flags` string (attributeName and the defaults it presets, in
 * node_modules/commander/lib/option.js and command.js):
 *
 *   '--json'                     json?: true            absent unless given
 *   '--no-trim'                  trim: boolean          true unless --no-trim is given
 *   '--html <file>'              html?: string
 *   '--top <n>', default '15'    top: string            an option with a default is always set
 *   '-o, --output <file>'        output?: string        named by the long flag
 *   '--max-depth <n>'            maxDepth?: string      dashes camel-cased
 *   '--pid <pid...>'             pid?: string[]         variadic
 *   '--color [when]'             color?: string | true  optional value
 *
 * Values stay strings: a command parses durations, sizes and counts itself
 * (parse.ts), so that the error names the flag. The flags must stay literal
 * types: a table is written inline in defineCommand (spec.ts), whose `const`
 * type parameter keeps them, or declared `as const satisfies readonly OptionSpec[]`.
 * Not modelled: a table with both --x and --no-x (commander then presets no default).
 * test/src/optionTypes.test.ts parses each form above with commander and checks
 * what it stores against this type.
 */

/** What this module reads of an option table's entry (OptionSpec in spec.ts). */
interface Flagged {
  readonly flags: string;
  readonly default?: string | boolean;
}

/** '-o, --output <file>' -> '--output <file>': the short alias names nothing. */
type LongForm<F extends string> = F extends `-${string}, ${infer Long}` ? Long : F;

/** 'max-depth' of '--max-depth <n>', 'no-trim' of '--no-trim'. */
type LongName<F extends string> = LongForm<F> extends `--${infer Name} ${string}` ? Name : LongForm<F> extends `--${infer Name}` ? Name : never;

/** '<n>' of '--top <n>'; '' for a flag that takes no value. */
type ValuePart<F extends string> = LongForm<F> extends `--${string} ${infer Value}` ? Value : '';

type Negated<F extends string> = LongName<F> extends `no-${string}` ? true : false;

/** 'max-depth' -> 'maxDepth', as commander's camelcase. */
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** The property: the long name, camel-cased, without the 'no-' of a negated flag. */
type Key<F extends string> = CamelCase<LongName<F> extends `no-${infer Positive}` ? Positive : LongName<F>>;

/** What commander stores when the flag is given. */
type GivenValue<F extends string> =
  ValuePart<F> extends '' ? (Negated<F> extends true ? false : true) : ValuePart<F> extends `${string}...${string}` ? string[] : ValuePart<F> extends `[${string}]` ? string | true : string;

/** What commander stores before parsing: the table's default, or true for --no-x; never when nothing is preset. */
type Preset<E extends Flagged> = E extends { readonly default: infer D } ? D : Negated<E['flags']> extends true ? true : never;

/** One object type for editors and error messages, not an intersection. */
type Flatten<T> = { [K in keyof T]: T[K] };

/**
 * The options commander gives for `Table`: a property per entry, holding what
 * the flag gives or what was preset, and optional where nothing is preset.
 */
export type OptionsOf<Table extends readonly Flagged[]> = Flatten<
  { [E in Table[number] as [Preset<E>] extends [never] ? never : Key<E['flags']>]: GivenValue<E['flags']> | Preset<E> } & {
    [E in Table[number] as [Preset<E>] extends [never] ? Key<E['flags']> : never]?: GivenValue<E['flags']>;
  }
>;
