/**
 * The one error type for problems a user can act on. The CLI prints its
 * message as a single line and exits with `exitCode`; any other error is a
 * bug and is shown with its stack only under --debug.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
