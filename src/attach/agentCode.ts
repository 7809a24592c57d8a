/**
 * What the target is given to run memwhy's agent: the bootstrap with its
 * settings filled in, start.py, and the agent's modules, either compiled
 * here (marshal data from src/attach/agentCompiler.ts) or as source the
 * agent's thread compiles. src/agent/start.py reads both forms.
 */
import { installationDescription, listPackageDir, readPackageFile } from '../installation.js';
import type { AgentCompiler } from './agentCompiler.js';

/** The files of src/agent that are not modules a call names: the bootstrap, the agent thread's start, the request loop, and the compiler memwhy runs on its side. */
const NOT_MODULES = new Set(['boot.py', 'start.py', 'agent.py', 'precompile.py']);

/** The agent's .py files (src/agent), from the package or the single executable (installation.ts). */
export function loadAgentSources(): { boot: string; start: string; agent: string; modules: Record<string, string> } {
  const read = (f: string): string => {
    const text = readPackageFile(`src/agent/${f}`);
    if (text === undefined) throw new Error(`memwhy's agent file src/agent/${f} is missing from ${installationDescription()}`);
    return text;
  };
  const modules: Record<string, string> = {};
  for (const f of listPackageDir('src/agent')) {
    if (f.endsWith('.py') && !NOT_MODULES.has(f)) modules[f.slice(0, -3)] = read(f);
  }
  return { boot: read('boot.py'), start: read('start.py'), agent: read('agent.py'), modules };
}

/**
 * A Python module cut before each top-level def, class or decorator, each
 * piece with the line it starts at: [line, text]. The agent compiles piece
 * by piece, because compiling a whole module at once takes memory in
 * proportion to its size (the 3.11 parser peaked at 640 KiB for agent.py's
 * 9 KiB), and a thread's malloc arena keeps its peak resident in the target
 * after it is freed (src/agent/agent.py).
 */
export function pieces(source: string): [number, string][] {
  const lines = source.split('\n');
  const out: [number, string][] = [];
  let start = 0;
  for (let i = 1; i <= lines.length; i++) {
    const at = lines[i];
    const cut = i === lines.length || (/^(def |class |@)/.test(at!) && !/^@/.test(lines[i - 1]!));
    if (!cut) continue;
    const text = lines.slice(start, i).join('\n');
    if (text.trim() !== '') out.push([start + 1, text + '\n']);
    start = i;
  }
  return out;
}

/** Drops whole-line comments: the bootstrap travels through gdb, smaller is quicker. */
function stripComments(source: string): string {
  return (
    source
      .split('\n')
      .filter((l) => !/^\s*#/.test(l) && l.trim() !== '')
      .join('\n') + '\n'
  );
}

function pyString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface BootstrapSettings {
  /** The socket as the target sees it. */
  socketPath: string;
  token: string;
  /** Who the bootstrap accepts at the other end of the socket (see listenerCredentialsSeenBy). */
  pids: number[];
  uid: number;
  /** start.py as the target sees it: the agent's thread runs it. */
  startPath: string;
  /** The file of agentCode() or compiledAgentCode() as the target sees it: the agent's thread loads what is in it. */
  codePath: string;
  /** Whether the start file holds start.py compiled (marshal data) rather than its source. */
  startCompiled: boolean;
}

/**
 * The modules of src/agent that the session's calls are expected to need,
 * when the caller does not say: the census and its snapshot child, which the
 * first call of heap, growth and diagnose make. They travel in agentCode()'s
 * file; any other module a call needs is sent as a define line, which the
 * agent parses in Python first (a 25 KiB module's worth of strings in the
 * target, for the time of the parse).
 */
export const DEFAULT_MODULES: readonly string[] = ['census', 'fork'];

/** `names` and every module they load (`_load('name')`), those of `sources` only, each after what it loads. */
export function withDependencies(names: Iterable<string>, sources: Record<string, string>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || sources[name] === undefined) return;
    seen.add(name);
    for (const m of sources[name]!.matchAll(/_load\('(\w+)'\)/g)) visit(m[1]!);
    out.push(name);
  };
  for (const n of names) visit(n);
  return out;
}

/**
 * What the agent's thread compiles first (src/agent/start.py reads it):
 * agent.py (as module "agent") and these modules, each cut into pieces(),
 * each piece "name:line\n" then its text then a NUL.
 */
export function agentCode(agent: string, modules: Record<string, string>): Buffer {
  const out: string[] = [];
  for (const [name, source] of [['agent', agent] as const, ...Object.entries(modules)]) {
    if (!/^\w+$/.test(name)) throw new Error(`agent module name ${JSON.stringify(name)} is not a Python identifier`);
    for (const [line, text] of pieces(source)) out.push(`${name}:${line}\n${text.replace(/\0/g, '')}\0`);
  }
  return Buffer.from(out.join(''), 'utf8');
}

/** boot.py with its placeholders filled in: what the transport runs inside the target. */
export function renderBootstrap(boot: string, s: BootstrapSettings): string {
  const values: Record<string, string> = {
    __MEMWHY_START__: pyString(s.startPath),
    __MEMWHY_CODE__: pyString(s.codePath),
    __MEMWHY_START_COMPILED__: s.startCompiled ? 'True' : 'False',
    __MEMWHY_SOCKET__: pyString(s.socketPath),
    __MEMWHY_TOKEN__: pyString(s.token),
    __MEMWHY_SERVER_PIDS__: `(${s.pids.map((p) => Math.trunc(p)).join(',')},)`,
    __MEMWHY_SERVER_UID__: String(Math.trunc(s.uid)),
  };
  return stripComments(boot).replace(/__MEMWHY_[A-Z_]+?__/g, (name) => {
    const value = values[name];
    if (value === undefined) throw new Error(`boot.py has a placeholder memwhy does not fill: ${name}`);
    return value;
  });
}

/** compiledAgentCode's first byte: start.py tells the two forms apart by it (source starts with a module name). */
const COMPILED_MARK = 'M';

/** The same modules as agentCode(), compiled: "M" then each module's marshal data (precompile.py), agent first. */
export function compiledAgentCode(compiled: Map<string, Buffer>, names: readonly string[]): Buffer {
  return Buffer.concat([Buffer.from(COMPILED_MARK, 'ascii'), ...names.map((n) => compiled.get(n)!)]);
}

/** The files the agent's thread starts from, compiled here when the compiler could. */
export interface StartFiles {
  /** start.py: its marshal data (name, code) when compiled, else its source. */
  start: Buffer;
  /** agent.py and the modules the session expects, in agentCode() or compiledAgentCode() form. */
  code: Buffer;
  compiled: boolean;
}

export async function startFiles(sources: ReturnType<typeof loadAgentSources>, modules: readonly string[], compiler: AgentCompiler | undefined): Promise<StartFiles> {
  const wanted: Record<string, string> = { start: sources.start, agent: sources.agent };
  for (const m of modules) wanted[m] = sources.modules[m]!;
  const compiled = compiler && (await compiler.compile(wanted));
  if (compiled) return { start: compiled.get('start')!, code: compiledAgentCode(compiled, ['agent', ...modules]), compiled: true };
  const code = agentCode(sources.agent, Object.fromEntries(modules.map((m) => [m, sources.modules[m]!])));
  return { start: Buffer.from(sources.start, 'utf8'), code, compiled: false };
}

/**
 * The line that gives the agent one more module: the name of a file of its
 * marshal data that `write` put in the private directory (returning its path
 * as the target sees it), or, without a compiler, its source in pieces().
 */
export async function defineLine(name: string, source: string, compiler: AgentCompiler | undefined, write: (file: string, data: Buffer) => string): Promise<Record<string, unknown>> {
  const compiled = compiler && (await compiler.compile({ [name]: source }));
  if (compiled) return { define: name, file: write(`d.${name}`, compiledAgentCode(compiled, [name])) };
  return { define: name, pieces: pieces(source) };
}
