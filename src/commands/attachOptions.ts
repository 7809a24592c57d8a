/** Options every attaching command shares, from one table. */
import type { OptionSpec } from './spec.js';
import { durationOption } from './parse.js';

export const ATTACH_OPTIONS: OptionSpec[] = [
  { flags: '--timeout <duration>', description: 'how long to wait for the target to reach a safe point', default: '10s' },
  { flags: '--wait <duration>', description: 'how long to wait for another memwhy attached to the same process', default: '10s' },
];

export interface AttachCliOptions {
  timeout?: string;
  wait?: string;
}

/** The attach settings from the shared options, plus Ctrl-C handling and progress. */
export function attachSettings(opts: AttachCliOptions & { json?: boolean }, signal: AbortSignal) {
  return {
    safePointTimeoutS: durationOption('--timeout', opts.timeout ?? '10s'),
    lockWaitS: durationOption('--wait', opts.wait ?? '10s', { allowZero: true }),
    signal,
    onProgress: progressPrinter(opts.json),
  };
}


/** Progress for stderr, unless the user asked for quiet JSON. */
export function progressPrinter(json: boolean | undefined): ((line: string) => void) | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (line) => process.stderr.write(`memwhy: ${line}\n`);
}
