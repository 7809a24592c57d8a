/** `memwhy stacks`: every Python thread's stack, read from memory (live or a core) or through the agent, with deadlock hints. */
import { withAgent } from '../attach/agentSession.js';
import { AgentStacks } from '../collect/agentStacks.js';
import { collectCoreStacks } from '../collect/coreStacks.js';
import { LiveStacks } from '../collect/liveStacks.js';
import { sampleStacks } from '../collect/sampleStacks.js';
import type { StacksEvidence } from '../collect/stackTypes.js';
import { NoLayoutError } from '../cpython/locate.js';
import { stuckVerdict, threadFindings } from '../analyze/stuck.js';
import { renderStacks } from '../report/stacks.js';
import { UserError } from '../errors.js';
import { interruptSignal } from '../util/interrupt.js';
import { attachSettings, TRANSPORT_OPTION } from './attachOptions.js';
import { countOption, durationOption } from './parse.js';
import { defineCommand, flagOf, parsePid, printJson, type CommandOptions, type OptionSpec } from './spec.js';

const OPTIONS = [
  { flags: '--native', description: 'merge in the C frames gdb sees (the pause then lasts as long as gdb, about a second)' },
  { flags: '--samples <n>', description: 'read n times and tell stuck threads (same stack, asleep) from busy ones', default: '1' },
  { flags: '--every <duration>', description: 'with --samples: time between readings', default: '200ms' },
  { flags: '--via <path>', description: 'memory (read /proc/PID/mem) or agent (sys._current_frames() run in the target: gives threading names)', default: 'memory' },
  { flags: '--nonblocking', description: 'do not pause the target while reading (no pause, but frames may be torn)' },
  { flags: '--locals', description: "show each frame's local variables (simple values in full, containers by length)" },
  { flags: '--core <file>', description: 'read the stacks from a core file (see "memwhy core") instead of a live process' },
  { flags: '--exe <python>', description: "with --core: the interpreter (python or libpython) to take symbols from, if the core's path does not reach it" },
  { flags: '--timeout <duration>', description: "give up (and detach) after this long: gdb for --native, the agent's safe point for --via agent", default: '10s' },
  { flags: '--wait <duration>', description: 'with --via agent: how long to wait for another memwhy attached to the same process', default: '10s' },
  { ...TRANSPORT_OPTION, description: `with --via agent: ${TRANSPORT_OPTION.description}` },
] as const satisfies readonly OptionSpec[];

type StacksOptions = CommandOptions<typeof OPTIONS>;

/** The options once checked: what to read, how, and how often. */
interface Plan {
  pid: number;
  via: 'memory' | 'agent';
  native: boolean;
  nonblocking: boolean;
  locals: boolean;
  samples: number;
  everyMs: number;
  timeoutS: number;
}

function plan(args: string[], opts: StacksOptions): Plan {
  if (opts.via !== 'memory' && opts.via !== 'agent') throw new UserError(`--via takes memory or agent, not "${opts.via}"`);
  if (opts.exe !== undefined) throw new UserError('--exe goes with --core FILE; a live process names its own interpreter');
  const p: Plan = {
    pid: parsePid(args[0]),
    via: opts.via,
    native: opts.native ?? false,
    nonblocking: opts.nonblocking ?? false,
    locals: opts.locals ?? false,
    samples: countOption('--samples', opts.samples),
    everyMs: durationOption('--every', opts.every) * 1000,
    timeoutS: durationOption('--timeout', opts.timeout),
  };
  if (p.native && p.nonblocking) throw new UserError('--native stops the target (gdb attaches to it): leave out --nonblocking');
  if (p.via === 'agent' && (p.native || p.locals || p.nonblocking)) {
    throw new UserError('--via agent gives Python frames only: --native, --locals and --nonblocking go with the memory reader');
  }
  return p;
}

async function run(args: string[], opts: StacksOptions): Promise<number> {
  let evidence: StacksEvidence;
  if (opts.core !== undefined) {
    if (args[0] !== undefined) throw new UserError('give either a pid or --core FILE, not both');
    if (opts.native || opts.via !== 'memory' || opts.samples !== '1') throw new UserError('a core is one moment read from memory: --native, --via and --samples need a live pid');
    evidence = collectCoreStacks(opts.core, { exe: opts.exe, locals: opts.locals ?? false });
  } else {
    evidence = await live(plan(args, opts), opts);
  }
  for (const w of evidence.warnings) process.stderr.write(`memwhy: ${w}\n`);
  const moreSamples = `${flagOf(OPTIONS, 'samples')} 3`;
  const findings = threadFindings(evidence.samples ?? [{ t_ms: 0, pause_ms: evidence.pause_ms, threads: evidence.threads }], moreSamples);
  const verdict = stuckVerdict(findings, moreSamples);
  if (opts.json) printJson({ ...evidence, findings, verdict });
  else process.stdout.write(renderStacks({ evidence, findings, verdict }));
  return 0;
}

async function live(p: Plan, opts: StacksOptions): Promise<StacksEvidence> {
  const signal = interruptSignal();
  if (p.via === 'memory') {
    let reader: LiveStacks | undefined;
    try {
      reader = LiveStacks.open(p.pid, { locals: p.locals });
    } catch (err) {
      if (!(err instanceof NoLayoutError)) throw err;
      if (p.native || p.locals || p.nonblocking) throw err;
      return viaAgent(p, opts, signal, [`${err.message}: read through the agent instead (sys._current_frames(), code run in the target)`]);
    }
    const r = reader;
    try {
      const take = p.native ? () => r.readNative({ timeoutMs: p.timeoutS * 1000, signal }) : async () => r.read({ nonblocking: p.nonblocking });
      return await sampleStacks(take, p.samples, p.everyMs, signal);
    } finally {
      r.close();
    }
  }
  return viaAgent(p, opts, signal, []);
}

function viaAgent(p: Plan, opts: StacksOptions, signal: AbortSignal, warnings: string[]): Promise<StacksEvidence> {
  return withAgent(
    p.pid,
    (session) => {
      const agent = AgentStacks.forSession(session, p.pid);
      return sampleStacks(() => agent.read([...warnings]), p.samples, p.everyMs, signal);
    },
    attachSettings(opts, signal),
  );
}

export const stacksCommand = defineCommand({
  name: 'stacks',
  args: '[pid]',
  summary: "show every Python thread's stack, read from memory (nothing runs in the target), with deadlock hints",
  options: OPTIONS,
  help: [
    'Examples:',
    '  memwhy stacks 1234                       pause pid 1234 for a few milliseconds and print its stacks',
    '  memwhy stacks 1234 --native              with the C frames, from gdb',
    '  memwhy stacks 1234 --samples 3           three readings 200 ms apart: which threads are stuck',
    '  memwhy stacks 1234 --via agent           through the agent, with threading names',
    '  memwhy stacks 1234 --nonblocking         read without pausing',
    "  memwhy stacks 1234 --locals              with each frame's local variables",
    '  memwhy core 1234 -o app.core && memwhy stacks --core app.core',
    '',
    'By default the target is stopped (SIGSTOP) while its memory is read and continued',
    '(SIGCONT) afterwards on every path; the pause is reported. Reads CPython 2.7 and',
    '3.6-3.13 from memory; other versions and free-threaded builds are read through the',
    'agent (the output says "through the agent").',
    '',
    'Deadlock hints: a thread whose innermost frame waits in threading or queue (or, with',
    '--native, in a lock function) is flagged; with --samples, a thread with the same stack',
    'and asleep at every reading is "stuck", one that ran or moved is "busy".',
  ].join('\n'),
  run,
});
