/** `memwhy stacks`: every Python thread's stack, read from memory (live or a core), no code run in the target. */
import { collectCoreStacks, collectStacks, type StacksEvidence, type ThreadStack } from '../collect/stacks.js';
import { UserError } from '../errors.js';
import { parsePid, printJson, type CommandSpec } from './spec.js';

interface StacksOptions {
  nonblocking?: boolean;
  locals?: boolean;
  core?: string;
  exe?: string;
  json?: boolean;
}

async function run(args: string[], opts: StacksOptions): Promise<number> {
  let evidence: StacksEvidence;
  if (opts.core !== undefined) {
    if (args[0] !== undefined) throw new UserError('give either a pid or --core FILE, not both');
    evidence = collectCoreStacks(opts.core, { exe: opts.exe, locals: opts.locals ?? false });
  } else {
    if (opts.exe !== undefined) throw new UserError('--exe goes with --core FILE; a live process names its own interpreter');
    evidence = collectStacks(parsePid(args[0]), { nonblocking: opts.nonblocking ?? false, locals: opts.locals ?? false });
  }
  for (const w of evidence.warnings) process.stderr.write(`memwhy: ${w}\n`);
  if (opts.json) printJson(evidence);
  else process.stdout.write(renderStacks(evidence));
  return 0;
}

export function renderStacks(e: StacksEvidence): string {
  const how =
    e.source === 'core'
      ? `from the core ${e.core}`
      : e.pause_ms > 0
        ? `paused ${formatMs(e.pause_ms)}`
        : 'not paused (frames may be torn)';
  const count = `${e.threads.length} Python thread${e.threads.length === 1 ? '' : 's'}`;
  let out = `pid ${e.pid} · CPython ${e.version} · ${count} · ${how}\n`;
  for (const t of e.threads) out += '\n' + renderThread(t);
  return out;
}

function renderThread(t: ThreadStack): string {
  const name = t.name === null ? '' : ` "${t.name}"`;
  const notes = [t.state === 'unknown' ? '' : t.state, t.holds_gil ? 'holds the GIL' : ''].filter(Boolean).join(', ');
  let out = `Thread ${t.tid ?? '?'}${name}${notes ? ` (${notes})` : ''}\n`;
  if (t.frames.length === 0 && !t.error) out += '    (no Python frames)\n';
  for (const f of t.frames) {
    out += `    ${f.function} (${f.file}:${f.line ?? '?'})\n`;
    for (const l of f.locals ?? []) out += `        ${l.name} = ${l.value}\n`;
  }
  if (t.error) out += `    ... frames end early: ${t.error}\n`;
  return out;
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`;
}

export const stacksCommand: CommandSpec<StacksOptions> = {
  name: 'stacks',
  args: '[pid]',
  summary: "show every Python thread's stack, read from memory (nothing runs in the target)",
  options: [
    { flags: '--nonblocking', description: 'do not pause the target while reading (no pause, but frames may be torn)' },
    { flags: '--locals', description: "show each frame's local variables (simple values in full, containers by length)" },
    { flags: '--core <file>', description: 'read the stacks from a core file (see "memwhy core") instead of a live process' },
    { flags: '--exe <python>', description: "with --core: the interpreter (python or libpython) to take symbols from, if the core's path does not reach it" },
  ],
  help: [
    'Examples:',
    '  memwhy stacks 1234                 pause pid 1234 for a few milliseconds and print its stacks',
    '  memwhy stacks 1234 --nonblocking   read without pausing',
    "  memwhy stacks 1234 --locals        with each frame's local variables",
    '  memwhy core 1234 -o app.core && memwhy stacks --core app.core',
    '',
    'By default the target is stopped (SIGSTOP) while its memory is read and continued',
    '(SIGCONT) afterwards on every path; the pause is reported. Supports CPython 2.7 and 3.6-3.13.',
  ].join('\n'),
  run,
};
