/**
 * Masters and their Python workers (gunicorn, uWSGI, multiprocessing, Celery's
 * prefork pool...), found from /proc alone: no attach.
 *
 * A leak lives in a worker, while users point tools at the master. The
 * process tree comes from /proc/PID/status (PPid); which processes are
 * Python is python.ts's decision (it also recognises an interpreter
 * embedded through libpython, as in uWSGI, whose executable is uwsgi-core).
 *
 * The rules are pure functions over recorded data (pids, parent pids,
 * argv), so they are tested on recorded /proc text; the reads are at the end.
 */
import { readdirSync } from 'node:fs';
import { UserError } from '../errors.js';
import { parseStatus, readProcFile } from './proc.js';
import { describePython, type PythonTarget } from './python.js';

/** One process of the table: enough to walk the tree. */
export interface ProcEntry {
  pid: number;
  ppid: number;
}

/**
 * master: a Python process with Python workers under it (children, or
 *   grandchildren through a helper such as multiprocessing's fork server).
 * worker: a Python process under a master, with no Python workers of its own.
 * helper: a Python process that serves the others and runs no application
 *   code (multiprocessing's resource tracker and fork server, uWSGI's routers).
 */
export type WorkerRole = 'master' | 'worker' | 'helper';

/** A process table from recorded /proc/PID/status texts (as read by readProcessTable). */
export function parseProcessTable(records: readonly { pid: number; status: string }[]): ProcEntry[] {
  return records.map(({ pid, status }) => ({ pid, ppid: parseStatus(status).ppid }));
}

/**
 * The descendants of `pid` (children, their children...), nearest first,
 * each with its depth below `pid` (1 for a child). A malformed table (a
 * parent loop) cannot make it run forever: each pid is visited once.
 */
export function descendantsOf(pid: number, table: readonly ProcEntry[]): { pid: number; depth: number }[] {
  const children = new Map<number, number[]>();
  for (const e of table) {
    if (e.pid === e.ppid) continue;
    const list = children.get(e.ppid);
    if (list) list.push(e.pid);
    else children.set(e.ppid, [e.pid]);
  }
  const out: { pid: number; depth: number }[] = [];
  const seen = new Set<number>([pid]);
  let level = [pid];
  for (let depth = 1; level.length > 0; depth++) {
    const next: number[] = [];
    for (const p of level) {
      for (const c of (children.get(p) ?? []).sort((a, b) => a - b)) {
        if (seen.has(c)) continue;
        seen.add(c);
        out.push({ pid: c, depth });
        next.push(c);
      }
    }
    level = next;
  }
  return out;
}

/**
 * The nearest ancestor of `pid` that is in `members`, or null. Processes in
 * between that are not members (a shell, a hidden debugger) are skipped, so
 * `python -> sh -> python` still nests.
 */
export function nearestAncestor(pid: number, members: ReadonlySet<number>, parents: ReadonlyMap<number, number>): number | null {
  const seen = new Set<number>([pid]);
  for (let p = parents.get(pid); p !== undefined && p > 0 && !seen.has(p); p = parents.get(p)) {
    if (members.has(p)) return p;
    seen.add(p);
  }
  return null;
}

/**
 * What a helper process is, from its argv, or undefined for application
 * processes. multiprocessing starts its helpers with `python -c "from
 * multiprocessing.X import main; main(...)"` (Lib/multiprocessing/
 * resource_tracker.py, semaphore_tracker.py before 3.8, forkserver.py); uWSGI
 * names its routers "uWSGI http 1", "uWSGI fastrouter"... with
 * --auto-procname (core/uwsgi.c, uwsgi_set_processname).
 */
export function helperKind(argv: readonly string[]): string | undefined {
  const code = argv.find((a, i) => i > 0 && argv[i - 1] === '-c') ?? '';
  const mp = /from multiprocessing\.(resource_tracker|semaphore_tracker|forkserver) import main/.exec(code);
  if (mp) return `multiprocessing ${mp[1]!.replace('_', ' ')}`;
  const title = argv.join(' ');
  const uwsgi = /^uWSGI (http|https|fastrouter|rawrouter|sslrouter|forkptyrouter|tuntap|zergpool|emperor|cron|signal\w*)\b/.exec(title);
  if (uwsgi) return `uWSGI ${uwsgi[1]}`;
  return undefined;
}

/** A process title that says master or worker outright (gunicorn with setproctitle, uWSGI with --auto-procname). */
export function titleRole(argv: readonly string[]): 'master' | 'worker' | undefined {
  const title = argv.join(' ');
  if (/^gunicorn: master\b|^uWSGI master\b|^celery: .*main process/i.test(title)) return 'master';
  if (/^gunicorn: worker\b|^uWSGI worker\b|^celery: .*pool worker/i.test(title)) return 'worker';
  return undefined;
}

export interface PythonNode {
  pid: number;
  /** The nearest Python ancestor among the nodes, or null for a root. */
  parent: number | null;
  /** Python processes whose nearest Python ancestor this is, by pid. */
  children: number[];
  /** Null for a Python process on its own: no Python parent, no Python child. */
  role: WorkerRole | null;
  /** For a helper: what it is ("multiprocessing resource tracker"). */
  helper?: string;
  /** Python levels below its root (0 for a root). */
  depth: number;
}

/**
 * Nests Python processes under their nearest Python ancestor and gives each
 * its role. `pythons` are the processes known to be Python, with their argv;
 * `table` is the whole process table, for the links through processes that
 * are not Python. Roots and siblings come in pid order, each node followed
 * by its subtree, which is the order `memwhy ps` prints.
 */
export function nestPythons(pythons: readonly { pid: number; argv: readonly string[] }[], table: readonly ProcEntry[]): PythonNode[] {
  const parents = new Map(table.map((e) => [e.pid, e.ppid]));
  const members = new Set(pythons.map((p) => p.pid));
  const argvOf = new Map(pythons.map((p) => [p.pid, p.argv]));
  const parentOf = new Map<number, number | null>();
  const children = new Map<number, number[]>();
  for (const pid of [...members].sort((a, b) => a - b)) {
    const parent = nearestAncestor(pid, members, parents);
    parentOf.set(pid, parent);
    if (parent !== null) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  /**
   * A fork of a helper keeps the helper's argv: multiprocessing's fork
   * server forks the pool's workers without exec. Those are workers.
   */
  const helper = (pid: number): string | undefined => {
    const argv = argvOf.get(pid) ?? [];
    const parent = parentOf.get(pid);
    const parentArgv = parent === null || parent === undefined ? undefined : argvOf.get(parent);
    if (parentArgv && parentArgv.length === argv.length && parentArgv.every((a, i) => a === argv[i])) return undefined;
    return helperKind(argv);
  };
  /** Whether a descendant is not a helper: a fork server's pool workers are the main program's. */
  const hasWorkers = (pid: number, seen = new Set<number>()): boolean => (children.get(pid) ?? []).some((c) => !seen.has(c) && (seen.add(c), helper(c) === undefined || hasWorkers(c, seen)));
  /** A master has a Python descendant that is not a helper, or says it is one. */
  const roleOf = (pid: number): WorkerRole | null => {
    if (helper(pid) !== undefined) return 'helper';
    const titled = titleRole(argvOf.get(pid) ?? []);
    if (titled) return titled;
    if (hasWorkers(pid)) return 'master';
    return parentOf.get(pid) === null ? null : 'worker';
  };
  const out: PythonNode[] = [];
  const visited = new Set<number>();
  const visit = (pid: number, depth: number): void => {
    if (visited.has(pid)) return;
    visited.add(pid);
    const h = helper(pid);
    out.push({
      pid,
      parent: parentOf.get(pid) ?? null,
      children: children.get(pid) ?? [],
      role: roleOf(pid),
      ...(h !== undefined ? { helper: h } : {}),
      depth,
    });
    for (const c of children.get(pid) ?? []) visit(c, depth + 1);
  };
  for (const pid of [...members].sort((a, b) => a - b)) if (parentOf.get(pid) === null) visit(pid, 0);
  // Only a malformed table (a parent loop) leaves some unvisited: list them rather than lose them.
  for (const pid of [...members].sort((a, b) => a - b)) visit(pid, 0);
  return out;
}

/**
 * The Python processes under `root` (its descendants that are Python), in
 * tree order, each with its role; `root` itself need not be Python and is
 * not among them.
 */
export function pythonTreeUnder(root: number, pythons: readonly { pid: number; argv: readonly string[] }[], table: readonly ProcEntry[]): PythonNode[] {
  const below = new Set(descendantsOf(root, table).map((d) => d.pid));
  // The root is a member so that its direct Python children get it as their parent.
  const nodes = nestPythons([{ pid: root, argv: [] }, ...pythons.filter((p) => below.has(p.pid))], table);
  return nodes.filter((n) => n.pid !== root && below.has(n.pid));
}

/**
 * The workers to examine among the nodes under a root: neither helpers nor
 * masters of their own workers (a gunicorn master under a Python supervisor
 * is not one: its workers are).
 */
export function isWorker(node: PythonNode): boolean {
  return node.role === 'worker';
}

// ---- reads from /proc ----

/** Every process's pid and parent pid, from /proc/PID/status; processes that vanish meanwhile are left out. */
export function readProcessTable(): ProcEntry[] {
  const records: { pid: number; status: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      records.push({ pid: Number(name), status: readProcFile(Number(name), 'status') });
    } catch {
      // Exited since readdir, or hidden from us.
    }
  }
  return parseProcessTable(records);
}

export interface PythonWorker {
  target: PythonTarget;
  node: PythonNode;
}

export interface WorkerSurvey {
  root: number;
  workers: PythonWorker[];
  /** Python helpers under the root (resource trackers, routers): listed, never chosen. */
  helpers: PythonNode[];
  /** Python masters under the root (a gunicorn master under a Python supervisor): their workers are in `workers`. */
  masters: PythonNode[];
}

/**
 * The Python workers under `pid`, each described as `memwhy diagnose` would
 * see it. Descendants that are not Python, or that memwhy cannot examine
 * (another user's, PyPy), are left out. An empty list when there are none.
 */
export function findPythonWorkers(pid: number, table: readonly ProcEntry[] = readProcessTable()): WorkerSurvey {
  const targets = new Map<number, PythonTarget>();
  for (const { pid: d } of descendantsOf(pid, table)) {
    try {
      targets.set(d, describePython(d));
    } catch (err) {
      // Not Python, gone, or not ours to examine: not a worker memwhy can diagnose.
      if (!(err instanceof UserError) && !hasErrno(err)) throw err;
    }
  }
  const pythons = [...targets.values()].map((t) => ({ pid: t.pid, argv: t.cmdline }));
  const nodes = pythonTreeUnder(pid, pythons, table);
  return {
    root: pid,
    workers: nodes.filter(isWorker).map((node) => ({ target: targets.get(node.pid)!, node })),
    helpers: nodes.filter((n) => n.role === 'helper'),
    masters: nodes.filter((n) => n.role === 'master'),
  };
}

function hasErrno(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string';
}
