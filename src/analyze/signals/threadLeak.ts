/** The thread-leak signal: threads that only ever climb. Pure. */
import type { CauseFinding } from '../diagnosis.js';
import type { RssFacts } from './rss.js';

export function threadLeakFinding(rss: RssFacts): CauseFinding {
  const d = rss.threads_end - rss.threads_start;
  return {
    cause: 'thread-leak',
    status: rss.threads_climb ? 'issue' : 'none',
    score: rss.threads_climb ? Math.min(1, 0.5 + d / 20) : 0,
    summary: rss.threads_climb
      ? `threads went from ${rss.threads_start} to ${rss.threads_end} and never fell: each new thread costs a stack and its own allocator arena`
      : `threads steady (${rss.threads_start} to ${rss.threads_end})`,
    numbers: { threads_start: rss.threads_start, threads_end: rss.threads_end },
  };
}
