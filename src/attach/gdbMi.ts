/**
 * A small driver for gdb's machine interface (MI2): send a command, await
 * its result record, await stop events. gdb is started by src/gdb/launch.ts
 * (its own process group, so a Ctrl-C at the terminal reaches memwhy only,
 * and memwhy decides how gdb lets go of the target).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { GdbProcess, type GdbLaunch } from '../gdb/launch.js';

/** One MI record: `^done,...`, `*stopped,...`, `=thread-exited,...`. */
export interface MiRecord {
  token?: number;
  /** '^' result, '*' exec async, '=' notify, '+' status. */
  kind: '^' | '*' | '=' | '+';
  cls: string;
  /** The rest of the line after the class and comma: key=value pairs, unparsed. */
  body: string;
}

export class GdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GdbError';
  }
}

/** Reads a top-level `key="value"` from an MI record body (values are C strings). */
export function miField(body: string, key: string): string | undefined {
  const re = new RegExp(`(?:^|[,{])${key}="((?:[^"\\\\]|\\\\.)*)"`);
  const m = re.exec(body);
  return m ? unescapeC(m[1]!) : undefined;
}

function unescapeC(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** Quotes an argument for an MI command line. */
export function miQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function parseMiLine(line: string): MiRecord | { kind: 'stream'; text: string } | undefined {
  const m = /^(\d*)([\^*=+])([a-zA-Z-]+),?(.*)$/.exec(line);
  if (m) {
    return {
      token: m[1] ? Number(m[1]) : undefined,
      kind: m[2] as MiRecord['kind'],
      cls: m[3]!,
      body: m[4]!,
    };
  }
  const s = /^[~&@]"(.*)"$/.exec(line);
  if (s) return { kind: 'stream', text: unescapeC(s[1]!) };
  return undefined;
}

interface Waiter {
  match: (r: MiRecord) => boolean;
  resolve: (r: MiRecord) => void;
  reject: (e: Error) => void;
}

export class GdbMi {
  private readonly process: GdbProcess<ChildProcessWithoutNullStreams>;
  private readonly child: ChildProcessWithoutNullStreams;
  private nextToken = 1;
  private waiters: Waiter[] = [];
  private exited = false;
  /** Console and log text, kept for error messages. */
  private consoleText = '';
  /** Async records nobody waited for yet (a stop can arrive before its waiter). */
  private backlog: MiRecord[] = [];
  readonly exitedPromise: Promise<void>;

  private constructor(gdb: GdbProcess<ChildProcessWithoutNullStreams>) {
    this.process = gdb;
    const child = gdb.child;
    this.child = child;
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => this.onLine(line));
    child.stderr.on('data', (d: Buffer) => (this.consoleText += d.toString()));
    child.on('exit', () => {
      this.exited = true;
      const err = new GdbError(`gdb exited unexpectedly: ${this.recentConsole()}`);
      for (const w of this.waiters) w.reject(err);
      this.waiters = [];
    });
    // Once gdb is gone and the target is as it was found.
    this.exitedPromise = gdb.exited.then(() => undefined);
  }

  /** Starts gdb for `pid` (attached later, with -target-attach) with `settings` after the safe ones; GdbNotInstalled when missing. */
  static start(pid: number, settings: readonly string[]): GdbMi {
    const launch: GdbLaunch & { mode: 'mi' } = { pid, purpose: 'to attach', mode: 'mi', readnever: true, settings };
    return new GdbMi(GdbProcess.mi(launch));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isExited(): boolean {
    return this.exited;
  }

  recentConsole(): string {
    return this.consoleText.slice(-400).trim();
  }

  private onLine(line: string): void {
    const rec = parseMiLine(line);
    if (!rec) return;
    if (rec.kind === 'stream') {
      this.consoleText = (this.consoleText + rec.text).slice(-4000);
      return;
    }
    const i = this.waiters.findIndex((w) => w.match(rec));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(rec);
    } else if (rec.kind !== '^') {
      this.backlog.push(rec);
      if (this.backlog.length > 200) this.backlog.shift();
    }
  }

  private wait(match: (r: MiRecord) => boolean, timeoutMs: number, what: string, signal?: AbortSignal): Promise<MiRecord> {
    const early = this.backlog.findIndex(match);
    if (early >= 0) return Promise.resolve(this.backlog.splice(early, 1)[0]!);
    if (this.exited) return Promise.reject(new GdbError(`gdb is not running (${what})`));
    if (signal?.aborted) return Promise.reject(new WaitAborted(what));
    return new Promise((resolve, reject) => {
      // A waiter that gives up must leave the list: a record it no longer
      // wants (the stop after an interrupt) belongs to the next waiter.
      const leave = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const onAbort = (): void => {
        leave();
        reject(new WaitAborted(what));
      };
      const waiter: Waiter = {
        match,
        resolve: (r) => {
          leave();
          resolve(r);
        },
        reject: (e) => {
          leave();
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        leave();
        reject(new TimeoutError(`gdb: no answer to ${what} in ${timeoutMs} ms`));
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Sends one MI command and resolves with its result record; `^error` rejects. */
  async command(cmd: string, timeoutMs = 10_000): Promise<MiRecord> {
    const token = this.nextToken++;
    const reply = this.wait((r) => r.kind === '^' && r.token === token, timeoutMs, cmd);
    this.child.stdin.write(`${token}${cmd}\n`);
    const rec = await reply;
    if (rec.cls === 'error') throw new GdbError(miField(rec.body, 'msg') ?? 'gdb error');
    return rec;
  }

  /** A CLI command through MI; resolves with the console text it printed. */
  async console(cmd: string, timeoutMs = 10_000): Promise<string> {
    const before = this.consoleText.length;
    await this.command(`-interpreter-exec console ${miQuote(cmd)}`, timeoutMs);
    return this.consoleText.slice(before);
  }

  /** Resolves with the next `*stopped` record; rejects with WaitAborted when `signal` aborts first. */
  waitStopped(timeoutMs: number, signal?: AbortSignal): Promise<MiRecord> {
    return this.wait((r) => r.kind === '*' && r.cls === 'stopped', timeoutMs, 'a stop', signal);
  }

  /**
   * Ends gdb: closing stdin makes an MI gdb quit (detaching what it
   * attached); then a kill of its group. Resolves once the target is as it
   * was found (continued if gdb left it stopped).
   */
  async dispose(graceMs = 3000): Promise<void> {
    if (!this.exited) {
      this.child.stdin.end();
      this.process.killAfter(graceMs);
    }
    await this.exitedPromise;
  }
}

/** A wait given up because its AbortSignal fired (Ctrl-C, SIGTERM). */
export class WaitAborted extends GdbError {
  constructor(what: string) {
    super(`gdb: stopped waiting for ${what}`);
    this.name = 'WaitAborted';
  }
}

export class TimeoutError extends GdbError {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}
