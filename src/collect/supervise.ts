/**
 * Runs a command as memwhy's child and samples its RSS from /proc/PID/status
 * until it exits: the engine behind `memwhy run` and `memwhy compare`.
 * Signals sent to memwhy are passed on to the child, so stopping memwhy
 * stops the workload the same way, and the child is killed if it outlives
 * its timeout.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { isErrno, UserError } from '../errors.js';
import { readStatus } from '../target/proc.js';

export interface ChildSample {
  /** Seconds since the child started. */
  t: number;
  /** Bytes. */
  rss: number;
  rssAnon: number;
  /** VmHWM: the kernel's exact RSS peak so far, which sampling can miss. */
  hwm: number;
}

/**
 * The signals a terminal or a supervisor sends to stop or poke a process.
 * With a terminal, Ctrl-C reaches the child from the terminal too (same
 * process group); Python folds two quick SIGINTs into one KeyboardInterrupt.
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export interface SuperviseOptions {
  command: readonly string[];
  env: Readonly<Record<string, string>>;
  stdio: StdioOptions;
  intervalS: number;
  /** Kill the child (SIGKILL) after this long; none when undefined. */
  timeoutS?: number;
  onSample?: (sample: ChildSample) => void;
}

export interface ChildResult {
  pid: number;
  /** The child's exit status, or 128 + the signal number when a signal killed it. */
  exitCode: number;
  signal?: NodeJS.Signals;
  wallS: number;
  samples: ChildSample[];
  timedOut: boolean;
  /** Signals memwhy received and passed on while the child ran. */
  forwarded: NodeJS.Signals[];
}

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

export async function superviseChild(opts: SuperviseOptions): Promise<ChildResult> {
  const [file, ...args] = opts.command;
  if (file === undefined) throw new UserError('no command given: put it after --, as in "memwhy run -- python3 app.py"');
  const samples: ChildSample[] = [];
  const forwarded: NodeJS.Signals[] = [];
  let timedOut = false;

  const child = spawn(file, args, { env: opts.env, stdio: opts.stdio });
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;

  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = (): void => {
      forwarded.push(signal);
      child.kill(signal);
    };
    process.on(signal, handler);
    return { signal, handler };
  });

  const sample = (): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      const status = readStatus(child.pid);
      // A zombie (exited, not yet reaped) reports no memory: not a sample.
      if (status.vmRss === 0) return;
      const s: ChildSample = { t: elapsed(), rss: status.vmRss, rssAnon: status.rssAnon, hwm: status.vmHwm };
      samples.push(s);
      opts.onSample?.(s);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      // The child exited between the check and the read.
    }
  };

  try {
    const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      const tick = (): void => {
        try {
          sample();
        } catch (err) {
          // A failing sample callback (say, a full disk under --record) ends the run.
          stop();
          child.kill('SIGKILL');
          reject(err);
        }
      };
      const timer = setInterval(tick, Math.max(1, opts.intervalS * 1000));
      const deadline =
        opts.timeoutS === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, opts.timeoutS * 1000);
      const stop = (): void => {
        clearInterval(timer);
        if (deadline) clearTimeout(deadline);
      };
      child.once('spawn', tick);
      child.once('exit', (code, signal) => {
        stop();
        resolve({ code, signal });
      });
      child.once('error', (err) => {
        stop();
        reject(isErrno(err, 'ENOENT') ? new UserError(`command not found: ${file}`) : isErrno(err, 'EACCES') ? new UserError(`permission denied running ${file}`) : err);
      });
    });
    return {
      pid: child.pid!,
      exitCode: exitCodeOf(outcome.code, outcome.signal),
      ...(outcome.signal ? { signal: outcome.signal } : {}),
      wallS: elapsed(),
      samples,
      timedOut,
      forwarded,
    };
  } finally {
    for (const { signal, handler } of handlers) process.removeListener(signal, handler);
    // Every path out leaves no child behind (an error thrown by a sample callback, say).
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
  }
}
