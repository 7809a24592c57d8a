/**
 * Opens a session with memwhy's agent inside a target: checks the target,
 * takes the per-target lock, makes the private directory and socket, has the
 * transport run the bootstrap at a safe point, and waits for the agent to
 * connect back. Closing it leaves nothing in the target but the standard
 * modules the agent imported (see src/agent/agent.py).
 */
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installationDescription, listPackageDir, readPackageFile } from '../installation.js';
import { UserError } from '../errors.js';
import { describePython, type PythonTarget } from '../target/python.js';
import { readStatus, isSameProcess, processAlive } from '../target/proc.js';
import { AcceptTimeout, ChannelClosed, ChannelListener, ChannelTimeout, listenerCredentialsSeenBy, makePrivateDir, newToken, type Channel } from './channel.js';
import { chooseTransport, type TransportChoice } from './chooseTransport.js';
import { sweepLeftovers, targetTmpRoot } from './leftovers.js';
import { localThreadId, threadEnded } from './agentThread.js';
import { takeAttachLock } from './lock.js';
import type { AgentSession, AttachOptions, CallOptions } from './session.js';
import type { InjectResult, Transport } from './transport.js';

/** The files of src/agent that are not modules a call names: the bootstrap, the agent thread's start, the request loop. */
const NOT_MODULES = new Set(['boot.py', 'start.py', 'agent.py']);

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
  /** The file of agentCode() as the target sees it: the agent's thread compiles what is in it. */
  codePath: string;
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

export interface OpenedSession extends AgentSession {
  readonly inject: InjectResult;
}

export function transportFor(target: PythonTarget, choice: TransportChoice = 'auto'): Transport {
  const { major, minor } = target.version;
  if (major === 3 && minor >= 14) {
    throw new UserError(`pid ${target.pid} runs CPython ${target.version.text}: memwhy attaches to 2.7 and 3.6-3.13 for now (3.14's PEP 768 transport is not built yet)`);
  }
  return chooseTransport(choice);
}

export async function openAgent(pid: number, opts: AttachOptions & { signal?: AbortSignal; lockWaitS?: number } = {}): Promise<OpenedSession> {
  return openAgentOn(describePython(pid), opts);
}

/**
 * openAgent for a target already described: the transport checks, once it
 * holds the process, that it is still that one (same start time), so a pid
 * reused in between is never touched.
 */
export async function openAgentOn(target: PythonTarget, opts: AttachOptions & { signal?: AbortSignal; lockWaitS?: number } = {}): Promise<OpenedSession> {
  const pid = target.pid;
  if (!isSameProcess(pid, target.startTicks)) {
    throw new UserError(`pid ${pid} is no longer the Python process memwhy examined (it exited and the pid was reused): nothing was done to it`);
  }
  const transport = transportFor(target, opts.transport);
  const tmpRoot = targetTmpRoot(pid);
  sweepLeftovers(`${tmpRoot}/tmp`);
  const lock = await takeAttachLock(tmpRoot, pid, opts.lockWaitS ?? 10, opts.signal);
  let dir: ReturnType<typeof makePrivateDir> | undefined;
  let listener: ChannelListener | undefined;
  try {
    // Read once the lock is ours: before, another memwhy's gdb may hold the
    // target in a tracing stop for a moment.
    const status = readStatus(pid);
    if (status.state.startsWith('T')) {
      throw new UserError(
        `pid ${pid} is stopped (${status.state}): memwhy would have to resume it to run its agent, so it leaves it as it is; resume it (kill -CONT ${pid}) and try again, or use "memwhy stacks ${pid}", which reads it without resuming it`,
      );
    }
    if (status.tracerPid !== 0) {
      throw new UserError(`pid ${pid} is already being traced by pid ${status.tracerPid} (a debugger or profiler): try again when it has let go`);
    }
    const uid = status.uids[1] ?? target.uid;
    const gid = status.gids[1] ?? 0;
    try {
      dir = makePrivateDir(tmpRoot, uid, gid);
    } catch (err) {
      throw new UserError(`cannot make memwhy's private directory in the target's /tmp (${tmpRoot}/tmp): ${(err as Error).message}`);
    }
    const token = newToken();
    listener = new ChannelListener(join(dir.localDir, 's'), token);
    await listener.listen(uid, gid);
    const sources = loadAgentSources();
    const compiled = withDependencies(opts.modules ?? DEFAULT_MODULES, sources.modules);
    const code = agentCode(sources.agent, Object.fromEntries(compiled.map((m) => [m, sources.modules[m]!])));
    for (const [name, text] of [
      ['t', sources.start],
      ['c', code],
    ] as const) {
      // Only the target's user can read them, like the directory.
      writeFileSync(join(dir.localDir, name), text, { mode: 0o600 });
      if (process.getuid?.() === 0 && uid !== 0) chownSync(join(dir.localDir, name), uid, gid);
    }
    const bootstrap = renderBootstrap(sources.boot, {
      socketPath: join(dir.targetDir, 's'),
      token,
      ...listenerCredentialsSeenBy(pid),
      startPath: join(dir.targetDir, 't'),
      codePath: join(dir.targetDir, 'c'),
    });
    const inject = await transport.inject(target, bootstrap, {
      safePointTimeoutS: opts.safePointTimeoutS ?? 10,
      signal: opts.signal,
      onProgress: opts.onProgress,
      privateDir: { localDir: dir.localDir, targetDir: dir.targetDir, uid, gid },
    });
    // The agent's thread needs the GIL a few times before it says hello. 2.7's
    // GIL is not fair: with busy threads a new one waits seconds for each turn.
    const connectTimeoutS = Math.max(opts.safePointTimeoutS ?? 10, target.version.major === 2 ? 30 : 10);
    let channel: Channel;
    try {
      channel = await listener.accept(connectTimeoutS * 1000, opts.signal);
    } catch (err) {
      if (err instanceof AcceptTimeout) {
        if (!processAlive(pid)) throw new UserError(`the target (pid ${pid}) exited while memwhy was attaching`);
        throw new AgentDidNotConnect(pid, connectTimeoutS, target.version.major === 2);
      }
      throw err;
    } finally {
      transport.settle?.(pid);
    }
    return new Session(target, channel, dir, lock, inject, opts.fork !== false, sources.modules, compiled);
  } catch (err) {
    transport.settle?.(pid);
    listener?.close();
    dir?.remove();
    lock.release();
    throw err;
  }
}

/** How long the agent gets to close its socket after agent.close, and its thread to end after that. */
const CLOSE_WAIT_MS = 5_000;
const THREAD_END_WAIT_MS = 2_000;

class Session implements OpenedSession {
  private closed = false;
  /** Where close() says the agent's thread outlived the session (stderr unless told). */
  onWarning: (line: string) => void = (line) => process.stderr.write(`memwhy: warning: ${line}\n`);

  constructor(
    readonly target: PythonTarget,
    private readonly channel: Channel,
    private readonly dir: ReturnType<typeof makePrivateDir>,
    private readonly lock: { release(): void },
    readonly inject: InjectResult,
    private readonly forkAllowed: boolean,
    private readonly modules: Record<string, string>,
    /** The modules agentCode() carried: the agent has them. */
    compiled: readonly string[],
  ) {
    this.defined = new Set(compiled);
  }

  private readonly defined: Set<string>;

  /**
   * Sends the agent the modules a call needs, once each, one line per module:
   * only what is used is compiled in the target, and no line is big enough
   * to make the agent allocate past glibc's mmap threshold (src/agent/agent.py).
   */
  private define(module: string): void {
    for (const name of withDependencies([module], this.modules)) {
      if (this.defined.has(name)) continue;
      this.defined.add(name);
      this.channel.send({ define: name, pieces: pieces(this.modules[name]!) });
    }
  }

  get localDir(): string {
    return this.dir.localDir;
  }

  get targetDir(): string {
    return this.dir.targetDir;
  }

  async call<T = unknown>(method: string, params?: Record<string, unknown>, opts?: CallOptions): Promise<T> {
    try {
      const timeoutS = opts?.timeoutS ?? 60;
      const fork = opts?.fork === true && this.forkAllowed;
      this.define(method.slice(0, method.lastIndexOf('.')));
      if (fork) this.define('fork');
      const sent = fork ? { ...params, _fork: { timeout_s: timeoutS, keep_tracing: opts?.keepTracing === true } } : params;
      return (await this.channel.request(method, sent, timeoutS * 1000)) as T;
    } catch (err) {
      if (err instanceof ChannelClosed) {
        if (!processAlive(this.target.pid)) throw new UserError(`the target (pid ${this.target.pid}) exited`);
        throw new UserError(`memwhy lost its connection to the agent in pid ${this.target.pid}: ${err.message}`);
      }
      if (err instanceof ChannelTimeout) {
        throw new UserError(`${err.message} (pid ${this.target.pid}); the target was left running`);
      }
      throw err;
    }
  }

  /**
   * Asks the agent to end and returns once its thread has: the agent closes
   * the socket as the last thing its thread does in Python (src/agent/boot.py),
   * then the thread ends without needing the GIL back, so a target that goes
   * idle right after is left with the threads it had.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.channel.closed) return;
      const pid = this.target.pid;
      const tid = this.channel.hello.tid ? localThreadId(pid, this.channel.hello.tid) : undefined;
      this.channel.send({ id: 0, method: 'agent.close', params: {} });
      const closed = await this.channel.waitClosed(CLOSE_WAIT_MS);
      const ended = closed && (tid === undefined || (await threadEnded(pid, tid, THREAD_END_WAIT_MS)));
      if (!ended && processAlive(pid)) {
        // Its thread waits for the GIL: some thread of the program holds it
        // without running Python (a C call, or an embedding that keeps it while idle).
        this.onWarning(
          `memwhy's agent thread${tid === undefined ? '' : ` (${tid})`} in pid ${pid} had not ended ${(CLOSE_WAIT_MS + (closed ? THREAD_END_WAIT_MS : 0)) / 1000} s after memwhy asked: ` +
            'it waits for the GIL, which another thread holds without running Python; it ends on its own when that thread next runs Python code',
        );
      }
    } finally {
      this.channel.destroy();
      this.dir.remove();
      this.lock.release();
    }
  }
}

/** Opens a session, runs `fn`, and closes the session on every path. */
export async function withAgent<T>(pid: number, fn: (session: OpenedSession) => Promise<T>, opts: AttachOptions & { signal?: AbortSignal; lockWaitS?: number } = {}): Promise<T> {
  const session = await openAgent(pid, opts);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** The agent's thread started in the target but did not connect back in `waitedS`. */
export class AgentDidNotConnect extends UserError {
  constructor(
    readonly pid: number,
    readonly waitedS: number,
    /** 2.7's GIL hands over to a new thread late: more time is the remedy there. */
    readonly python2: boolean,
  ) {
    super(
      `memwhy's agent started in pid ${pid} but did not connect back in ${waitedS} s (${
        python2 ? 'Python 2.7 hands the GIL to a new thread late when other threads keep it busy' : 'is its GIL held by a thread in a long C call?'
      }); the target was left running`,
    );
  }
}
