/** `memwhy stacks --samples N`: the sampling loop around any one-reading reader (memory, native or agent). */
import { performance } from 'node:perf_hooks';
import { UserError } from '../errors.js';
import type { StackSample, StacksEvidence } from './stackTypes.js';
import { sleep } from '../util/sleep.js';
import { round3 } from '../util/units.js';

/**
 * `count` readings `everyMs` apart (start to start; a reading that takes
 * longer is followed at once): the last reading, carrying every sample.
 */
export async function sampleStacks(take: () => Promise<StacksEvidence>, count: number, everyMs: number, signal?: AbortSignal): Promise<StacksEvidence> {
  const samples: StackSample[] = [];
  const first = performance.now();
  let last: StacksEvidence | undefined;
  for (let i = 0; i < count; i++) {
    if (i > 0 && !(await sleep(first + i * everyMs - performance.now(), signal))) throw new UserError('interrupted', 130);
    const t = performance.now() - first;
    last = await take();
    samples.push({ t_ms: round3(t), pause_ms: last.pause_ms, threads: last.threads });
  }
  if (!last) throw new Error('sampleStacks needs a count of at least 1');
  return count === 1 ? last : { ...last, samples };
}
