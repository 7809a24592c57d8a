/**
 * memwhy's one cancellable wait: resolves true after `ms`, or false as soon
 * as `signal` aborts (at once when it already has). Waits between samples
 * use it, so Ctrl-C ends every sampling loop the same way; the caller says
 * what an interrupted wait means (stop with what it has, or fail).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (slept: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(slept);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
