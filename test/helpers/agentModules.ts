/**
 * Drives test/helpers/serve_agent_modules.py: agent modules run in a real
 * Python the way the agent runs them, without attaching, for the agent
 * modules' tests. Every runner is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from './target.js';

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'serve_agent_modules.py');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface AgentModules {
  pid: number;
  /** `module.function` of src/agent, or `fixture.MODULE.FUNCTION` of an imported fixture. */
  call<T>(method: string, params?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

export async function startAgentModules(python: string, imports: string[] = [], timeoutMs = 60_000): Promise<AgentModules> {
  const child = spawn(python, [RUNNER, ...imports.flatMap((m) => ['--import', m])], { cwd: FIXTURES, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  lines.on('line', (l) => (waiters.length ? waiters.shift()!(l) : queue.push(l)));
  lines.on('close', () => waiters.splice(0).forEach((w) => w(undefined)));
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent module runner timed out; stderr: ${stderr}`)), timeoutMs);
      const take = (line: string | undefined): void => {
        clearTimeout(timer);
        if (line === undefined) reject(new Error(`agent module runner exited; stderr: ${stderr}`));
        else resolve(line);
      };
      if (queue.length) take(queue.shift());
      else waiters.push(take);
    });
  const ready = await next();
  if (ready !== 'ready') throw new Error(`agent module runner said ${ready}; stderr: ${stderr}`);
  return {
    pid: child.pid!,
    async call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      child.stdin!.write(JSON.stringify({ method, params }) + '\n');
      const reply = JSON.parse(await next()) as { result?: T; error?: { type: string; traceback: string } };
      if (reply.error) throw new Error(`${method} raised ${reply.error.type}:\n${reply.error.traceback}`);
      return reply.result as T;
    },
    async close(): Promise<void> {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    },
  };
}
