/**
 * Why the interpreter of a core cannot be read here, and which local file
 * would do: the command words that with its option for naming one.
 */
import { UserError } from '../errors.js';

export class CoreInterpreterError extends UserError {
  constructor(
    message: string,
    /**
     * The file to give instead: a copy of the library the process mapped, the
     * python the process ran (the core is from another machine), or the same
     * build as the one given.
     */
    readonly need: 'library-copy' | 'python-it-ran' | 'same-build',
  ) {
    super(message);
  }
}
