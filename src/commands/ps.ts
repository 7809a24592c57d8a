/** `memwhy ps`: the Python processes memwhy can examine, found from /proc without attaching. */
import { basename } from 'node:path';
import { renderTable } from '../report/table.js';
import { surveyPythons, type PythonTarget, type RejectedPython } from '../target/python.js';
import { nestPythons, readProcessTable, type PythonNode } from '../target/workers.js';
import { formatBytes, formatSeconds } from '../util/units.js';
import { defineCommand, printJson, type CommandOptions, type OptionSpec } from './spec.js';

const OPTIONS = [
  {
    flags: '--all',
    description: 'also list Python processes memwhy cannot examine (PyPy, old versions, no permission) and debuggers that embed CPython',
  },
] as const satisfies readonly OptionSpec[];

type PsOptions = CommandOptions<typeof OPTIONS>;

/** Debuggers embed CPython for their own scripts (memwhy runs gdb itself): not targets, so hidden unless --all. */
const EMBEDDING_TOOLS = /^(gdb|gdb-multiarch|lldb)$/;

async function run(_args: string[], opts: PsOptions): Promise<number> {
  // memwhy's own children (a gdb it runs, a python probe) are never listed.
  const survey = surveyPythons({ excludeTreeOf: process.pid });
  const listed = opts.all ? survey.accepted : survey.accepted.filter((p) => !EMBEDDING_TOOLS.test(basename(p.exe)));
  const rejected = opts.all ? survey.rejected : [];
  // Workers under their master (gunicorn, uWSGI, multiprocessing): tree order, each with its parent and role.
  const tree = nestPythons(
    listed.map((p) => ({ pid: p.pid, argv: p.cmdline })),
    readProcessTable(),
  );
  const byPid = new Map(listed.map((p) => [p.pid, p]));
  const processes = tree.map((node) => ({ ...byPid.get(node.pid)!, node }));
  const helpers = new Set(tree.filter((n) => n.role === 'helper').map((n) => n.pid));
  const now = Date.now();
  if (opts.json) {
    printJson({
      processes: processes.map((p) => ({
        pid: p.pid,
        parent: p.node.parent,
        workers: p.node.children.filter((c) => !helpers.has(c)),
        role: p.node.role,
        ...(p.node.helper !== undefined ? { helper: p.node.helper } : {}),
        user: p.user,
        implementation: p.implementation,
        version: p.version.text,
        rss: p.rss,
        threads: p.threads,
        uptime_s: uptimeSeconds(p, now),
        cmdline: p.cmdline,
        exe: p.exe,
        libpython: p.libpython ?? null,
      })),
      ...(opts.all ? { unsupported: rejected.map(({ pid, user, cmdline, reason }) => ({ pid, user, cmdline, reason })) } : {}),
    });
    return 0;
  }
  process.stdout.write(renderHuman(processes, rejected, now, process.stdout.isTTY ? process.stdout.columns : undefined));
  return 0;
}

function renderHuman(processes: (PythonTarget & { node: PythonNode })[], rejected: RejectedPython[], now: number, width: number | undefined): string {
  let out = '';
  if (processes.length === 0) {
    out += 'no Python processes found';
    out += process.getuid?.() === 0 ? '\n' : " (other users' processes are visible to root only)\n";
  } else {
    out += renderTable(
      [{ header: 'PID', align: 'left' }, { header: 'USER' }, { header: 'VERSION' }, { header: 'RSS' }, { header: 'THREADS' }, { header: 'UPTIME' }, { header: 'COMMAND' }],
      processes.map((p) => [
        // Workers are indented under their master.
        '  '.repeat(p.node.depth) + String(p.pid),
        p.user,
        `${p.implementation} ${p.version.text}`,
        formatBytes(p.rss),
        String(p.threads),
        formatSeconds(uptimeSeconds(p, now)),
        commandLine(p.cmdline),
      ]),
      { width },
    );
  }
  if (rejected.length > 0) {
    out += '\nPython processes memwhy cannot examine:\n';
    out += renderTable(
      [{ header: 'PID' }, { header: 'USER' }, { header: 'WHY' }],
      rejected.map((r) => [String(r.pid), r.user, r.reason]),
      { width },
    );
  }
  return out;
}

function uptimeSeconds(p: PythonTarget, now: number): number {
  return Math.max(0, Math.round((now - p.startTime.getTime()) / 100) / 10);
}

function commandLine(argv: string[]): string {
  return argv.map((a) => (a === '' || /[\s'"\\]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' ');
}

export const psCommand = defineCommand({
  name: 'ps',
  summary: 'list the Python processes memwhy can examine',
  options: OPTIONS,
  help: [
    'Examples:',
    '  memwhy ps',
    '  memwhy ps --json | jq ".processes[].pid"',
    '',
    'Workers (gunicorn, uWSGI, multiprocessing) are indented under their master; in --json each',
    'process has its parent (the nearest Python ancestor, or null), its workers and its role',
    '(master, worker, helper, or null for a process on its own).',
    '',
    "Reads /proc and the interpreters' ELF files only: nothing is attached and",
    'no code runs in the listed processes. As a normal user you see your own processes.',
  ].join('\n'),
  run,
});
