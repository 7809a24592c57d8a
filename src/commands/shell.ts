/**
 * `memwhy shell PID`: an interactive Python prompt inside the target (what
 * pyrasite-shell gives): multi-line blocks, history, state kept between
 * inputs, exceptions shown; Ctrl-C drops the current block, Ctrl-D detaches.
 */
import { createInterface } from 'node:readline';
import { appendFileSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { withAgent } from '../attach/agentSession.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import type { RunResult } from './exec.js';
import { defineCommand, parsePid } from './spec.js';

const HISTORY_FILE = join(homedir(), '.memwhy_history');
const HISTORY_SIZE = 1000;

function loadHistory(): string[] {
  try {
    return readFileSync(HISTORY_FILE, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

function saveHistoryLine(line: string): void {
  try {
    appendFileSync(HISTORY_FILE, line + '\n', { mode: 0o600 });
  } catch {
    // History is a convenience; a read-only home must not stop the shell.
  }
}

export const shellCommand = defineCommand({
  name: 'shell',
  args: '<pid>',
  summary: 'an interactive Python prompt inside a running process',
  options: [...ATTACH_OPTIONS],
  help: 'Ctrl-D detaches and leaves the program running; Ctrl-C drops the block being typed.',
  async run(args, opts) {
    const pid = parsePid(args[0]);
    const signal = interruptSignal();
    return withAgent(
      pid,
      async (session) => {
        const t = session.target;
        const interactive = Boolean(process.stdin.isTTY);
        process.stderr.write(`memwhy shell: pid ${pid}, CPython ${t.version.text} (${t.exe}). Variables persist; \`import __main__\` reaches the program. Ctrl-D detaches.\n`);
        const rl = createInterface({
          input: process.stdin,
          output: process.stdout,
          terminal: interactive,
          history: interactive ? loadHistory() : [],
          historySize: HISTORY_SIZE,
          prompt: '>>> ',
        });
        // SIGTERM or SIGHUP (the terminal went away): end the loop, detach.
        signal.addEventListener('abort', () => rl.close(), { once: true });
        rl.on('SIGINT', () => {
          // Ctrl-C at the prompt, as in Python's REPL: drop the block, new prompt.
          process.stdout.write('\nKeyboardInterrupt\n');
          void session.call('repl.reset').catch(() => undefined);
          rl.setPrompt('>>> ');
          rl.prompt();
        });
        const prompt = (): void => {
          if (interactive) rl.prompt();
        };
        prompt();
        for await (const line of rl) {
          if (signal.aborted) break;
          if (interactive && line.trim()) saveHistoryLine(line);
          const r = await session.call<RunResult & { more: boolean }>('repl.push', { line }, { timeoutS: 3600 });
          process.stdout.write(r.stdout);
          if (r.stderr) process.stderr.write(r.stderr);
          if (r.exception) process.stderr.write(r.exception.traceback);
          rl.setPrompt(r.more ? '... ' : '>>> ');
          prompt();
        }
        if (interactive) process.stdout.write('\n');
        process.stderr.write(`memwhy: detached from pid ${pid}; it is still running\n`);
        return 0;
      },
      { ...attachSettings(opts, signal), modules: ['repl'] },
    );
  },
});
