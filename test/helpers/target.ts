/**
 * Spawns a real Python program as a test target and waits until it prints
 * "ready". Every target is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, isAbsolute, join } from 'node:path';
import { readFileSync } from 'node:fs';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface Target {
  pid: number;
  child: ChildProcess;
  /** Everything the target has written to stdout so far. */
  stdout(): string;
  stderr(): string;
  alive(): boolean;
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startTarget(python: string, args: string[], opts: { env?: NodeJS.ProcessEnv; readyTimeoutMs?: number; privateTmp?: boolean } = {}): Promise<Target> {
  // privateTmp: the target runs in a mount namespace of its own with an empty
  // tmpfs on /tmp, as in a container; what memwhy leaves there is then
  // exactly what this target's /proc/PID/root/tmp shows. The tmpfs hides
  // whatever was under /tmp (a checkout there too), so the fixture is copied
  // into it and run from there.
  let cmd = python;
  let argv = ['-u', ...args];
  const extraEnv: NodeJS.ProcessEnv = {};
  if (opts.privateTmp) {
    const [script, ...rest] = args;
    extraEnv.MEMWHY_FIXTURE_SOURCE = readFileSync(isAbsolute(script!) ? script! : join(FIXTURES, script!), 'utf8');
    cmd = 'unshare';
    argv = [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs memwhy-test /tmp && printf "%s" "$MEMWHY_FIXTURE_SOURCE" > /tmp/fixture.py && exec "$0" -u /tmp/fixture.py "$@"',
      python,
      ...rest,
    ];
  }
  const child = spawn(cmd, argv as string[], {
    cwd: FIXTURES,
    env: { ...process.env, ...opts.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  let exited = false;
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', () => {
    exited = true;
    live.delete(child);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`target ${args.join(' ')} did not print "ready": ${out} ${err}`)), opts.readyTimeoutMs ?? 20_000);
    const check = (): void => {
      if (/^ready\b/m.test(out)) {
        clearTimeout(timer);
        resolve();
      } else if (exited) {
        clearTimeout(timer);
        reject(new Error(`target exited before ready: ${out} ${err}`));
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', check);
  });
  return {
    pid: child.pid!,
    child,
    stdout: () => out,
    stderr: () => err,
    alive: () => !exited,
    kill: async () => {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await done;
    },
  };
}
