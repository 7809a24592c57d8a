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
            if (buf.length > 4096) socket.destroy();
            return;
          }
          socket.off('data', onData);
          let msg: { hello?: unknown; pid?: unknown; python?: unknown };
          try {
            msg = JSON.parse(buf.subarray(0, nl).toString('utf8')) as typeof msg;
          } catch {
            socket.destroy();
            return;
          }
          if (msg.hello !== this.token) {
            socket.destroy();
            return;
          }
          resolve({ socket, hello: { pid: Number(msg.pid), python: String(msg.python) }, rest: buf.subarray(nl + 1) });
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

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Request/reply over the connected socket. */
export class Channel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buf: Buffer;
  private closedError: Error | undefined;

  constructor(
    private readonly socket: Socket,
    readonly hello: Hello,
    rest: Buffer,
  ) {
    this.buf = rest;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => this.fail(new ChannelClosed('the agent closed the connection (did the target exit?)')));
    socket.on('error', (e) => this.fail(new ChannelClosed(`the agent connection failed: ${e.message}`)));
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let nl: number;
    while ((nl = this.buf.indexOf(10)) >= 0) {
      const line = this.buf.subarray(0, nl).toString('utf8');
      this.buf = this.buf.subarray(nl + 1);
      let msg: { id?: number; result?: unknown; error?: { type?: string; message?: string; traceback?: string } };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        continue;
      }
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) continue;
      this.pending.delete(msg.id!);
      clearTimeout(p.timer);
      if (msg.error) {
        const e = msg.error;
        p.reject(new AgentCallError(`${e.type ?? 'Error'}: ${e.message ?? ''}`, e.type ?? 'Error', e.traceback ?? ''));
      } else {
        p.resolve(msg.result);
      }
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

  destroy(): void {
    this.socket.destroy();
  }
}

export class ChannelClosed extends Error {}
export class ChannelTimeout extends Error {}
