/**
 * Opens a session with memwhy's agent inside a target: checks the target,
 * takes the per-target lock, makes the private directory and socket, has the
 * transport run the bootstrap at a safe point, and waits for the agent to
 * connect back. Closing it leaves nothing in the target but the standard
 * modules the agent imported (see src/agent/agent.py).
 */
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { describePython, type PythonTarget } from '../target/python.js';
import { readStatus, isSameProcess, processAlive } from '../target/proc.js';
import { AcceptTimeout, ChannelClosed, ChannelListener, ChannelTimeout, listenerCredentialsSeenBy, makePrivateDir, newToken, type Channel } from './channel.js';
import { chooseTransport, type TransportChoice } from './chooseTransport.js';
import { sweepLeftovers, targetTmpRoot } from './leftovers.js';
import { agentCompilerFor, type AgentCompiler } from './agentCompiler.js';
import { DEFAULT_MODULES, defineLine, loadAgentSources, renderBootstrap, startFiles, withDependencies } from './agentCode.js';
import { localThreadId, threadEnded } from './agentThread.js';
import { takeAttachLock } from './lock.js';
import { forkResetOf } from '../cpython/targetQueue.js';
import type { AgentSession, AttachOptions, CallOptions } from './session.js';
import type { InjectResult, Transport } from './transport.js';

export interface OpenedSession extends AgentSession {
  readonly inject: InjectResult;
  /** The Python on this machine that compiled the agent's code (src/attach/agentCompiler.ts); undefined when the agent compiled it in the target. */
  readonly compiledBy: string | undefined;
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
    const compiler = agentCompilerFor(target);
    const modules = withDependencies(opts.modules ?? DEFAULT_MODULES, sources.modules);
    const files = await startFiles(sources, modules, compiler);
    // Only the target's user can read them, like the directory.
    const write = (name: string, data: Buffer): string => {
      writeFileSync(join(dir!.localDir, name), data, { mode: 0o600 });
      if (process.getuid?.() === 0 && uid !== 0) chownSync(join(dir!.localDir, name), uid, gid);
      return join(dir!.targetDir, name);
    };
    const bootstrap = renderBootstrap(sources.boot, {
      socketPath: join(dir.targetDir, 's'),
      token,
      ...listenerCredentialsSeenBy(pid),
      startPath: write('t', files.start),
      codePath: write('c', files.code),
      startCompiled: files.compiled,
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
    return new Session(target, channel, dir, lock, inject, opts.fork !== false, sources.modules, modules, files.compiled ? compiler : undefined, write);
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
    /** The modules the start files carried: the agent has them. */
    started: readonly string[],
    /** Compiles the modules sent later, when it compiled the first ones. */
    private readonly compiler: AgentCompiler | undefined,
    /** Writes a file into the private directory; returns its path as the target sees it. */
    private readonly write: (name: string, data: Buffer) => string,
  ) {
    for (const name of started) this.defined.set(name, Promise.resolve());
    this.compiledBy = compiler?.python;
  }

  readonly compiledBy: string | undefined;

  /** Each module the agent has or is being sent, by name: sent once, and every call waits for its modules' lines. */
  private readonly defined = new Map<string, Promise<void>>();

  /**
   * Sends the agent the modules a call needs, once each, one line per module:
   * only what is used is loaded in the target, and no line is big enough
   * to make the agent allocate past glibc's mmap threshold (src/agent/agent.py).
   */
  private async define(module: string): Promise<void> {
    const lines = withDependencies([module], this.modules).map((name) => {
      let sent = this.defined.get(name);
      if (!sent) {
        sent = defineLine(name, this.modules[name]!, this.compiler, this.write).then((line) => this.channel.send(line));
        this.defined.set(name, sent);
      }
      return sent;
    });
    await Promise.all(lines);
  }

  private reset?: ForkResetParams | null;

  /**
   * Where the eval-breaker flags a forked child clears live (fork.py), found
   * on the first call that forks; null when they cannot be found, or when
   * MEMWHY_FORK_RESET=off asks the child to fork as before (a way out should
   * the code it runs ever misbehave; the tests' control).
   */
  private forkReset(): ForkResetParams | null {
    if (this.reset === undefined) {
      const found = process.env.MEMWHY_FORK_RESET === 'off' ? undefined : forkResetOf(this.target);
      this.reset = !found ? null : 'words' in found ? { words: found.words.map(Number) } : { tstate_byte: found.tstateByte };
    }
    return this.reset;
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
      await this.define(method.slice(0, method.lastIndexOf('.')));
      if (fork) await this.define('fork');
      const sent = fork ? { ...params, _fork: { timeout_s: timeoutS, keep_tracing: opts?.keepTracing === true, memory_factor: opts?.childMemory ?? 1.1, reset: this.forkReset() } } : params;
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

/** What fork.py's `reset` takes: the int flags' addresses, or the byte's offset in the forking thread's state. */
type ForkResetParams = { words: number[] } | { tstate_byte: number };

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
