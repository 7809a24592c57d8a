/** `memwhy refs PID --type T`: who holds these objects: referrer chains from samples back to a root. */
import { extname } from 'node:path';
import { withAgent } from '../attach/agentSession.js';
import { collectRefs } from '../collect/refs.js';
import { UserError } from '../errors.js';
import { renderRefs } from '../report/refs.js';
import { renderDot, renderSvg } from '../report/refsGraph.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { countOption } from './parse.js';
import { defineCommand, FORCE_OPTION, flagOf, parsePid, printJson, type OptionSpec } from './spec.js';
import { checkOutputFile, writeOutputFile } from '../util/outputFile.js';
import { packageVersion } from '../version.js';

const OPTIONS = [
  { flags: '--type <name>', description: 'the type: module-qualified (app.models.Session) or plain (Session)' },
  { flags: '--samples <n>', description: 'instances to trace', default: '3' },
  { flags: '--max-depth <n>', description: 'give up on a chain after this many hops', default: '20' },
  { flags: '--graph <file>', description: 'also draw the chains: FILE.svg (laid out by memwhy) or FILE.dot (Graphviz)' },
  FORCE_OPTION,
  ...ATTACH_OPTIONS,
] as const satisfies readonly OptionSpec[];

export const refsCommand = defineCommand({
  name: 'refs',
  args: '<pid>',
  summary: 'show who holds objects of a type: the shortest reference chains back to a global, frame or class',
  options: OPTIONS,
  help: [
    'Walks referrers breadth-first (one scan of the heap per hop) from a few instances to a root:',
    'a module global, a live frame of another thread, a class attribute or gc.garbage. Each hop is',
    "named: a global, .attribute, ['key'], [index] or local variable.",
    '',
    'Examples:',
    '  memwhy refs 4242 --type Session',
    '  memwhy refs 4242 --type app.models.Session --samples 5 --graph sessions.svg',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    if (!opts.type) throw new UserError('--type is required: name the type to trace (see "memwhy heap PID" for the types)');
    const samples = countOption('--samples', opts.samples);
    const maxDepth = countOption('--max-depth', opts.maxDepth);
    const format = opts.graph === undefined ? undefined : graphFormat(opts.graph);
    if (opts.graph !== undefined) checkOutputFile(opts.graph, { force: opts.force });
    const result = await withAgent(pid, (s) => collectRefs(s, { type: opts.type!, samples, maxDepth }), attachSettings(opts, interruptSignal()));
    if (result.instances === 0) {
      throw new UserError(`pid ${pid} has no live objects of type "${opts.type}" (names are module-qualified or plain; "memwhy heap ${pid}" lists them)`, 1);
    }
    if (opts.graph !== undefined) {
      const g = { nodes: result.graph.nodes, edges: result.graph.edges, title: `who holds ${result.matched.join(', ')} (pid ${pid})` };
      writeOutputFile(opts.graph, format === 'svg' ? renderSvg(g, packageVersion()) : renderDot(g, packageVersion()), { force: opts.force });
      if (!opts.json) process.stderr.write(`memwhy: wrote ${opts.graph}\n`);
    }
    if (opts.json) printJson({ pid, ...result });
    else process.stdout.write(renderRefs(pid, result, flagOf(OPTIONS, 'max-depth')));
    return 0;
  },
});

function graphFormat(file: string): 'svg' | 'dot' {
  const ext = extname(file).toLowerCase();
  if (ext === '.svg') return 'svg';
  if (ext === '.dot' || ext === '.gv') return 'dot';
  throw new UserError(`--graph ${file}: name an .svg or .dot file`);
}
