/** Options every attaching command shares, from one table. */
import type { OptionSpec } from './spec.js';
import type { OptionsOf } from './optionTypes.js';
import { durationOption } from './parse.js';
import type { TransportChoice } from '../attach/chooseTransport.js';
import { UserError } from '../errors.js';

export const TRANSPORT_OPTION = {
  flags: '--transport <how>',
  description: 'how to run code in the target: memory (its pending-call queue, written through /proc/PID/mem; no gdb), gdb, or auto: memory, with gdb as the fallback',
  default: 'auto',
} as const satisfies OptionSpec;

export const ATTACH_OPTIONS = [
  { flags: '--timeout <duration>', description: 'how long to wait for the target to reach a safe point', default: '10s' },
  { flags: '--wait <duration>', description: 'how long to wait for another memwhy attached to the same process', default: '10s' },
  TRANSPORT_OPTION,
  {
    flags: '--no-fork',
    description: 'walk the heap inside the target, not in a copy-on-write child (the walk then allocates in the target and holds it longer)',
  },
] as const satisfies readonly OptionSpec[];

/**
 * What attachSettings reads: the options of ATTACH_OPTIONS, each optional, for
 * a command may take only some of them (stacks has no --no-fork).
 */
export type AttachCliOptions = Partial<OptionsOf<typeof ATTACH_OPTIONS>>;

/** The attach settings from the shared options, plus Ctrl-C handling and progress. */
export function attachSettings(opts: AttachCliOptions & { json?: boolean }, signal: AbortSignal) {
  return {
    safePointTimeoutS: durationOption('--timeout', opts.timeout ?? '10s'),
    lockWaitS: durationOption('--wait', opts.wait ?? '10s', { allowZero: true }),
    signal,
    onProgress: progressPrinter(opts.json),
    fork: opts.fork !== false,
    transport: parseTransportChoice(opts.transport),
  };
}

/** --transport's value, checked. */
export function parseTransportChoice(value: string | undefined): TransportChoice {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'memory' || value === 'gdb') return value;
  throw new UserError(`--transport must be memory, gdb or auto, not "${value}"`);
}

/** Progress for stderr, unless the user asked for quiet JSON. */
export function progressPrinter(json: boolean | undefined): ((line: string) => void) | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (line) => process.stderr.write(`memwhy: ${line}\n`);
}
