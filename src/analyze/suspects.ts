/**
 * Which growing types are the suspects, in order: what the referrer search
 * looks at and what the verdict names. Pure.
 */
import type { GrowthFinding } from './growth.js';

/**
 * The growing types that explain the growth, for the referrer search: those
 * that climb steadily first, by bytes gained (a program class gets no
 * priority for being one: a few re.Pattern objects of some library's cache
 * would take the search from the real suspect).
 */
export function pickSuspectTypes(growth: GrowthFinding, max = 3): string[] {
  const ranked = rankSuspects(growth);
  // The bytes often sit in builtins (the dicts and strings of each leaked
  // record) while the record's own class names the leak: the biggest steady
  // program-defined type is searched too, when it carries a real share.
  // By count: a record class grows one instance per record, like its dicts.
  const most = Math.max(0, ...ranked.filter((t) => t.steady).map((t) => t.count_delta));
  const owner = ranked.find((t) => t.steady && t.module !== 'builtins' && t.count_delta >= Math.max(20, 0.1 * most));
  const picked = ranked.slice(0, 1);
  if (owner && !picked.includes(owner)) picked.push(owner);
  for (const t of ranked) {
    if (picked.length >= max) break;
    if (!picked.includes(t)) picked.push(t);
  }
  return picked.slice(0, max).map((t) => t.type);
}

export function rankSuspects(growth: GrowthFinding): GrowthFinding['types'] {
  const growing = growth.types.filter((t) => t.count_delta > 0 && t.bytes_delta > 0);
  const steady = growing.filter((t) => t.steady);
  const rest = growing.filter((t) => !t.steady);
  const byBytes = (a: GrowthFinding['types'][number], b: GrowthFinding['types'][number]): number => b.bytes_delta - a.bytes_delta;
  return [...steady.sort(byBytes), ...rest.sort(byBytes)];
}
