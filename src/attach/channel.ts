/**
 * The channel between memwhy and its agent: a Unix socket in a private 0700
 * directory that the target can reach (it is made under the target's own
 * /tmp, through /proc/PID/root, so it works across mount namespaces). The
 * agent connects back and proves itself with a random per-session token;
 * then line-delimited JSON requests and replies. No TCP anywhere.
 */
import { chownSync, chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { namespaceOf } from '../target/proc.js';
import { privateDirPrefix } from './leftovers.js';
import { AgentCallError } from './session.js';

export interface PrivateDir {
  /** The directory as memwhy reaches it. */
  localDir: string;
  /** The same directory as the target sees it. */
  targetDir: string;
  remove(): void;
}

/**
 * Makes the private directory under the target's /tmp (reached through
 * `tmpRoot`, see targetTmpRoot), owned by the target's user so it can
 * connect, and closed to everyone else. Its name carries memwhy's pid so a
 * later memwhy can remove it if this one is killed.
 */
export function makePrivateDir(tmpRoot: string, uid: number, gid: number): PrivateDir {
  const localDir = mkdtempSync(`${tmpRoot}/tmp/${privateDirPrefix()}`);
  chmodSync(localDir, 0o700);
  if (process.getuid?.() === 0 && uid !== 0) chownSync(localDir, uid, gid);
  const targetDir = localDir.slice(tmpRoot.length) || '/';
  return {
    localDir,
    targetDir,
    remove: () => rmSync(localDir, { recursive: true, force: true }),
  };
}

/**
 * Who the agent will see at the other end of the socket, in the target's own
 * namespaces: the kernel translates SO_PEERCRED for the reader. memwhy's pid
 * when they share a pid namespace, else 0 (memwhy is outside the target's
 * view, as from a host into a container); memwhy's effective uid mapped
 * through the target's user namespace (the overflow uid when unmapped).
 */
export function listenerCredentialsSeenBy(pid: number): { pids: number[]; uid: number } {
  const pids = namespaceOf('self', 'pid') === namespaceOf(pid, 'pid') ? [process.pid] : [0];
  const euid = process.geteuid?.() ?? 0;
  if (namespaceOf('self', 'user') === namespaceOf(pid, 'user')) return { pids, uid: euid };
  return { pids, uid: mapUid(euid, readFileSync(`/proc/${pid}/uid_map`, 'utf8'), overflowUid()) };
}

/** Maps a uid of our user namespace through a /proc/PID/uid_map text (inside, outside, count per line). */
export function mapUid(uid: number, uidMap: string, overflow: number): number {
  for (const line of uidMap.split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || outside === undefined || count === undefined) continue;
    if (uid >= outside && uid < outside + count) return inside + (uid - outside);
  }
  return overflow;
}

function overflowUid(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/overflowuid', 'utf8').trim());
  } catch {
    return 65534;
  }
}

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

export interface Hello {
  pid: number;
  /** The agent's thread id in the target's pid namespace; 0 when it could not tell. */
  tid: number;
  python: string;
}

/** Listens for the agent's connection; `accept` resolves once it has said hello with the token. */
export class ChannelListener {
  private readonly server: Server;
  private readonly connected: Promise<{ socket: Socket; hello: Hello; rest: Buffer }>;

  constructor(
    readonly socketPath: string,
    private readonly token: string,
  ) {
    this.server = createServer();
    this.connected = new Promise((resolve) => {
      this.server.on('connection', (socket) => {
        // Anyone able to reach the 0700 directory is the target's user or root;
        // the token tells our agent apart from another program of theirs.
        let buf = Buffer.alloc(0);
        const onData = (d: Buffer): void => {
          buf = Buffer.concat([buf, d]);
          const nl = buf.indexOf(10);
          if (nl < 0) {
            if (buf.length > MAX_HELLO_BYTES) socket.destroy();
            return;
          }
          socket.off('data', onData);
          const hello = parseHello(buf.subarray(0, nl), this.token);
          if (!hello) {
            socket.destroy();
            return;
          }
          resolve({ socket, hello, rest: buf.subarray(nl + 1) });
        };
        socket.on('data', onData);
        socket.on('error', () => socket.destroy());
      });
    });
  }

  async listen(uid: number, gid: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o600);
    if (process.getuid?.() === 0 && uid !== 0) chownSync(this.socketPath, uid, gid);
  }

  /** Waits for the agent; rejects after `timeoutMs`. */
  async accept(timeoutMs: number, signal?: AbortSignal): Promise<Channel> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const { socket, hello, rest } = await Promise.race([
        this.connected,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AcceptTimeout()), timeoutMs);
          onAbort = () => reject(new AcceptTimeout());
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      return new Channel(socket, hello, rest);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      this.close();
    }
  }

  close(): void {
    this.server.close();
  }
}

export class AcceptTimeout extends Error {}

/** A hello longer than this without a line end is not memwhy's agent. */
export const MAX_HELLO_BYTES = 4096;
/** A reply longer than this without a line end fails the channel rather than grow memwhy without bound. */
export const MAX_REPLY_BYTES = 256 * 1024 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(line: Buffer): unknown {
  try {
    return JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The agent's first line, `{"hello": TOKEN, "pid", "python"}`; undefined unless it carries `token`. */
export function parseHello(line: Buffer, token: string): Hello | undefined {
  const msg = parseJson(line);
  if (!isObject(msg) || msg.hello !== token) return undefined;
  const tid = Number(msg.tid);
  return { pid: Number(msg.pid), tid: Number.isSafeInteger(tid) && tid > 0 ? tid : 0, python: String(msg.python) };
}

export interface Reply {
  id: number;
  result?: unknown;
  error?: { type: string; message: string; traceback: string };
}

/** One reply line, `{"id", "result"}` or `{"id", "error": {...}}`; undefined when it is neither. */
export function parseReply(line: Buffer): Reply | undefined {
  const msg = parseJson(line);
  if (!isObject(msg) || typeof msg.id !== 'number') return undefined;
  if (msg.error === undefined || msg.error === null) return { id: msg.id, result: msg.result };
  const e = isObject(msg.error) ? msg.error : { message: msg.error };
  const text = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : v === undefined ? fallback : JSON.stringify(v));
  return { id: msg.id, error: { type: text(e.type, 'Error'), message: text(e.message, ''), traceback: text(e.traceback, '') } };
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Request/reply over the connected socket. */
export class Channel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The current line's chunks so far (no line end yet). */
  private partial: Buffer[];
  private partialBytes: number;
  private closedError: Error | undefined;

  constructor(
    private readonly socket: Socket,
    readonly hello: Hello,
    rest: Buffer,
  ) {
    this.partial = [];
    this.partialBytes = 0;
    if (rest.length) this.onData(rest);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => this.fail(new ChannelClosed('the agent closed the connection (did the target exit?)')));
    socket.on('error', (e) => this.fail(new ChannelClosed(`the agent connection failed: ${e.message}`)));
  }

  /**
   * Splits the stream into lines. Chunks without a line end wait in a list
   * and are joined once, when the end arrives: joining on every chunk would
   * copy a large reply over and over.
   */
  private onData(d: Buffer): void {
    let chunk = d;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10)) {
      const line = this.partial.length ? Buffer.concat([...this.partial, chunk.subarray(0, nl)]) : chunk.subarray(0, nl);
      this.partial = [];
      this.partialBytes = 0;
      chunk = chunk.subarray(nl + 1);
      this.onLine(line);
    }
    if (chunk.length === 0) return;
    this.partial.push(chunk);
    this.partialBytes += chunk.length;
    if (this.partialBytes > MAX_REPLY_BYTES) {
      // Not a reply memwhy asked for (the largest, a census, is a few MiB).
      this.partial = [];
      this.fail(new ChannelClosed(`the agent sent over ${MAX_REPLY_BYTES >> 20} MiB without a line end`));
      this.socket.destroy();
    }
  }

  private onLine(line: Buffer): void {
    const reply = parseReply(line);
    const p = reply === undefined ? undefined : this.pending.get(reply.id);
    if (!reply || !p) return;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    if (reply.error) {
      const e = reply.error;
      p.reject(new AgentCallError(`${e.type}: ${e.message}`, e.type, e.traceback));
    } else {
      p.resolve(reply.result);
    }
  }

  private fail(err: Error): void {
    if (!this.closedError) this.closedError = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  send(message: unknown): void {
    this.socket.write(JSON.stringify(message) + '\n');
  }

  request(method: string, params: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ChannelTimeout(`the agent did not answer ${method} in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(JSON.stringify({ id, method, params: params ?? {} }) + '\n');
    });
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Resolves true once the agent has closed its end, false after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.socket.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      new Promise<boolean>((resolve) => this.socket.once('close', () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class ChannelClosed extends Error {}
export class ChannelTimeout extends Error {}
