/**
 * No module below commands/ names one of memwhy's flags in a string
 * (STYLE.md, issue 16): lower layers throw typed errors carrying data, and
 * the sentence with the flag is made in src/commands/ from the option table
 * (src/commands/errorWords.ts, flagOf in src/commands/spec.ts). The scan
 * reads every string and template literal of src/ with TypeScript's own
 * parser (comments are free to mention flags) and looks for the long flags
 * of memwhy's option tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { COMMANDS } from '../../src/commands/index.js';
import { JSON_OPTION, type OptionSpec } from '../../src/commands/spec.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** Where a memwhy flag may appear: the layer that words them, and the entry that defines --debug. */
const ABOVE = ['commands/', 'cli.ts'];

/**
 * Strings that are argv or command lines handed to a program, not sentences
 * about memwhy's own options; each named with why, and its flags checked
 * against the command they are for (below), so they cannot go stale.
 */
const ARGV: Record<string, { why: string; command?: string }> = {
  'watch/diagnoser.ts': { why: 'the argv of the `memwhy diagnose` child that watch runs', command: 'diagnose' },
  'analyze/recommendations.ts': { why: "memwhy command lines the verdict suggests, each checked below against its command's table" },
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The text of every string, template and template piece in a TypeScript source. */
export function stringsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) out.push(node.text);
    node.forEachChild(visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
  return out;
}

function longFlags(options: readonly OptionSpec[]): string[] {
  return options.flatMap((o) => o.flags.split(/[ ,]+/).filter((f) => f.startsWith('--')));
}

const FLAGS = new Set([...COMMANDS.flatMap((c) => longFlags(c.options)), ...longFlags([JSON_OPTION]), '--debug', '--help', '--version']);

/** The memwhy flags a string names: `--name` not inside a longer word. */
export function flagsIn(s: string, known: ReadonlySet<string>): string[] {
  return [...s.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]).filter((f) => known.has(f));
}

test("the scan finds flags in strings and templates, not in comments or other programs' options", () => {
  const text = "// --timeout here is a comment\nconst a = `try a longer ${'--timeout'}`;\nconst b = ['-nx', '--interpreter=mi2'];\nconst c = \"pass --force\";";
  const found = stringsOf('x.ts', text).flatMap((s) => flagsIn(s, new Set(['--timeout', '--force'])));
  assert.deepEqual(found, ['--timeout', '--force']);
  assert.deepEqual(flagsIn('docker run --cap-add SYS_PTRACE; style --depth', FLAGS), []);
  assert.ok(FLAGS.has('--timeout') && FLAGS.has('--force') && FLAGS.has('--via'), 'the option tables are read');
});

test('no module below commands/ names a memwhy flag in a string', () => {
  const found: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file);
    if (ABOVE.some((a) => rel.startsWith(a)) || ARGV[rel]) continue;
    for (const s of stringsOf(file, readFileSync(file, 'utf8'))) {
      for (const flag of flagsIn(s, FLAGS)) found.push(`${rel}: ${flag} in ${JSON.stringify(s.slice(0, 100))}`);
    }
  }
  assert.deepEqual(found, [], 'throw a typed error with the data, and word it in src/commands/errorWords.ts (or pass the flag in from the command)');
});

test('the memwhy command lines and argv below commands/ use flags their command has', () => {
  const byName = new Map(COMMANDS.map((c) => [c.name, new Set([...longFlags(c.options), ...longFlags([JSON_OPTION])])]));
  const wrong: string[] = [];
  for (const [rel, { command }] of Object.entries(ARGV)) {
    const strings = stringsOf(rel, readFileSync(join(SRC, rel), 'utf8'));
    if (command) {
      const own = byName.get(command)!;
      for (const s of strings) for (const f of flagsIn(s, FLAGS)) if (!own.has(f)) wrong.push(`${rel}: ${command} has no ${f}`);
      continue;
    }
    // "... memwhy growth 12 --every 10s --times 6": each flag after "memwhy NAME", up to the next "memwhy".
    for (const s of strings) {
      for (const m of s.matchAll(/\bmemwhy (\w+)((?:(?!\bmemwhy ).)*)/g)) {
        const own = byName.get(m[1]!);
        if (!own) {
          wrong.push(`${rel}: no command ${m[1]} in ${JSON.stringify(s)}`);
          continue;
        }
        for (const f of [...m[2]!.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((x) => x[0])) if (!own.has(f)) wrong.push(`${rel}: memwhy ${m[1]} has no ${f}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});
