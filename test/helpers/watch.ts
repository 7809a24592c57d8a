/** Runs `memwhy watch` as a real listener and fetches from it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface RunningWatch {
  child: ChildProcess;
  port: number;
  stderr(): string;
  get(path: string, init?: RequestInit): Promise<Response>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** `command` and `env`: another memwhy than the checkout's (the single executable) and its environment. */
export async function startWatch(args: string[], readyTimeoutMs = 60_000, opts: { command?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunningWatch> {
  const child = spawn(opts.command ?? join(ROOT, 'bin', 'memwhy'), ['watch', '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env ? { env: opts.env } : {}),
  });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`memwhy watch did not start listening: ${err}`)), readyTimeoutMs);
    const check = (): void => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`memwhy watch exited with ${code}: ${err}`));
    });
  });
  return {
    child,
    port,
    stderr: () => err,
    get: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
export function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && line.split(' ')[0] !== name) continue;
    const head = line.slice(0, line.lastIndexOf(' '));
    if (head.split('{')[0] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => head.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
