/**
 * Big analyses in a node whose malloc backs big allocations with huge pages.
 *
 * `memwhy analyze` of a big dump fills fresh typed arrays phase after phase,
 * and on the development VM the first write to a 4 KiB page costs ~3 ms per
 * MiB: a third of its time. glibc can ask for transparent huge pages on the
 * big blocks it maps (GLIBC_TUNABLES glibc.malloc.hugetlb=1, glibc 2.35+,
 * with THP in "madvise" mode, Debian's default); a tunable is read when the
 * process starts, so the command runs again in a new node with it set.
 * Measured on a 6 M-object dump (162 MiB): 3.47-3.52 s -> 2.35-2.76 s.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

const TUNABLE = 'glibc.malloc.hugetlb';
/** Below this much input the second node's start (~0.1 s) costs more than the pages save. */
const FROM_BYTES = 64 << 20;

export interface HugePagesContext {
  env: NodeJS.ProcessEnv;
  /** /sys/kernel/mm/transparent_hugepage/enabled, e.g. "always [madvise] never". */
  thp: string | undefined;
  /** The script node runs (process.argv[1]): a single executable has none of its own. */
  script: string | undefined;
  inputBytes: number;
}

/** The environment to run again with, or undefined to go on in this process. Pure. */
export function hugePagesEnv(ctx: HugePagesContext): NodeJS.ProcessEnv | undefined {
  const tunables = ctx.env.GLIBC_TUNABLES ?? '';
  if (ctx.env.MEMWHY_HUGE_PAGES === 'off' || tunables.includes(TUNABLE)) return undefined;
  // "always" gives big mappings huge pages already; "never" gives none.
  if (!ctx.thp?.includes('[madvise]')) return undefined;
  if (!ctx.script || !/\.[cm]?[jt]s$/.test(ctx.script)) return undefined;
  const from = ctx.env.MEMWHY_HUGE_PAGES_FROM === undefined ? FROM_BYTES : Number(ctx.env.MEMWHY_HUGE_PAGES_FROM);
  if (!(ctx.inputBytes >= from)) return undefined;
  return { ...ctx.env, GLIBC_TUNABLES: tunables ? `${tunables}:${TUNABLE}=1` : `${TUNABLE}=1` };
}

/**
 * Runs this very command again with huge pages asked for, when that pays
 * (hugePagesEnv); returns its exit status, or undefined when it did not.
 */
export function rerunWithHugePages(inputBytes: number): number | undefined {
  let thp: string | undefined;
  try {
    thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  } catch {
    thp = undefined;
  }
  const env = hugePagesEnv({ env: process.env, thp, script: process.argv[1], inputBytes });
  if (!env) return undefined;
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  if (r.error) return undefined; // could not start: go on here
  if (r.status !== null) return r.status;
  const signal = r.signal ? constants.signals[r.signal] : undefined;
  return 128 + (signal ?? 1);
}
