/** Option values parsed into numbers, or one line saying which option is wrong and what to give. */
import { UserError } from '../errors.js';
import { parseBytes, parseDuration } from '../util/units.js';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Seconds, more than 0 (or 0 too, with allowZero). */
export function durationOption(flag: string, text: string, opts: { allowZero?: boolean } = {}): number {
  let s: number;
  try {
    s = parseDuration(text);
  } catch (err) {
    throw new UserError(`${flag}: ${message(err)}`);
  }
  if (s < 0 || (s === 0 && !opts.allowZero)) throw new UserError(`${flag} must be more than 0 (try 500ms or 2s)`);
  return s;
}

export function bytesOption(flag: string, text: string): number {
  try {
    return parseBytes(text);
  } catch (err) {
    throw new UserError(`${flag}: ${message(err)}`);
  }
}

/** A whole number of at least `min`. */
export function countOption(flag: string, text: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new UserError(`${flag} takes a whole number of at least ${min}, not "${text}"`);
  }
  return Number(text);
}
