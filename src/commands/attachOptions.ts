/** Options every attaching command shares, from one table. */
import type { OptionSpec } from './spec.js';
import { parseDuration } from '../util/units.js';
import { UserError } from '../errors.js';

export const ATTACH_OPTIONS: OptionSpec[] = [
  { flags: '--timeout <duration>', description: 'how long to wait for the target to reach a safe point', default: '10s' },
];

export function safePointTimeout(text: string | undefined): number {
  try {
    return parseDuration(text ?? '10s');
  } catch (err) {
    throw new UserError(`--timeout: ${(err as Error).message}`);
  }
}

/** Progress for stderr, unless the user asked for quiet JSON. */
export function progressPrinter(json: boolean | undefined): ((line: string) => void) | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (line) => process.stderr.write(`memwhy: ${line}\n`);
}
