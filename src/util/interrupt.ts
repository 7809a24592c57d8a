/**
 * Ctrl-C and SIGTERM as an AbortSignal, so long operations (an attach, a
 * sampling loop) stop at a point where they can leave the target as they
 * found it. A second signal ends memwhy at once.
 */
let controller: AbortController | undefined;

export function interruptSignal(): AbortSignal {
  if (!controller) {
    const c = new AbortController();
    controller = c;
    let count = 0;
    const handler = (sig: NodeJS.Signals): void => {
      count++;
      if (count > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
      process.stderr.write(`\nmemwhy: ${sig}: stopping and detaching...\n`);
      c.abort(sig);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    process.on('SIGHUP', handler);
  }
  return controller.signal;
}
