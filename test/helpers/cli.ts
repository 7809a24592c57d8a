/** Runs the real CLI (bin/memwhy, which runs the bundle dist/memwhy.cjs) as a child process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function memwhy(args: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runCli(join(ROOT, 'bin', 'memwhy'), args, { ...opts, env: { ...process.env, ...opts.env } });
}

/** Runs `command` (bin/memwhy, or the single executable) with exactly `env` (as `uid` when given), collecting its output; SIGKILLs it past the time limit. */
export function runCli(command: string, args: string[], opts: { timeoutMs?: number; input?: string; env: NodeJS.ProcessEnv; cwd?: string; uid?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // uid: run as that user (and group of the same number), as root may.
    const child = spawn(command, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], env: opts.env, uid: opts.uid, gid: opts.uid });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`memwhy ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
