/** The terminal rendering of `memwhy stacks`: the verdict and flagged threads first, then every thread's frames. */
import { basename } from 'node:path';
import type { StackFrame, StacksEvidence, ThreadStack } from '../collect/stackTypes.js';
import type { StuckVerdict, ThreadFinding } from '../analyze/stuck.js';
import { formatMsUpTo10s } from '../util/units.js';

export interface StacksReport {
  evidence: StacksEvidence;
  findings: ThreadFinding[];
  verdict: StuckVerdict;
}

export function renderStacks({ evidence: e, findings, verdict }: StacksReport): string {
  let out = headline(e) + '\n';
  const flagged = findings.filter((f) => f.status === 'issue');
  if (flagged.length > 0 || e.samples) {
    out += `\n${verdict.summary}\n`;
    for (const f of flagged) out += `  ! ${threadLabel(f.tid, f.name)}: ${f.summary}\n`;
  }
  for (const t of e.threads) out += '\n' + renderThread(t);
  return out;
}

function headline(e: StacksEvidence): string {
  const how =
    e.source === 'core'
      ? `from the core ${e.core}`
      : e.source === 'agent'
        ? `through the agent (sys._current_frames() in the target), not paused`
        : e.found_stopped
          ? 'stopped already (read as it was, left stopped)'
          : e.pause_ms > 0
            ? `paused ${formatMsUpTo10s(e.pause_ms)}`
            : 'not paused (frames may be torn)';
  const python = e.threads.filter((t) => !t.native_only).length;
  const others = e.threads.length - python;
  const count = `${python} Python thread${python === 1 ? '' : 's'}${others > 0 ? ` + ${others} other` : ''}`;
  const native = e.native ? ' · native frames from gdb' : '';
  const samples = e.samples ? ` · ${e.samples.length} samples over ${formatMsUpTo10s(e.samples.at(-1)!.t_ms)}, the last shown` : '';
  return `pid ${e.pid} · CPython ${e.version} · ${count} · ${how}${native}${samples}`;
}

function threadLabel(tid: number | null, name: string | null): string {
  return `Thread ${tid ?? '?'}${name === null ? '' : ` "${name}"`}`;
}

function renderThread(t: ThreadStack): string {
  const names = t.thread_name !== undefined && t.thread_name !== t.name ? `${t.name === null ? '' : ` "${t.name}"`} (threading: "${t.thread_name}")` : t.name === null ? '' : ` "${t.name}"`;
  const state = t.state === 'unknown' ? '' : t.syscall && t.state !== 'running' ? `${t.state} in ${t.syscall}` : t.state;
  const notes = [state, t.holds_gil ? 'holds the GIL' : '', t.native_only ? 'no Python thread state' : ''].filter(Boolean).join(', ');
  let out = `Thread ${t.tid ?? '?'}${names}${notes ? ` (${notes})` : ''}\n`;
  if (t.frames.length === 0 && !t.error) out += '    (no Python frames)\n';
  for (const f of t.frames) {
    out += `    ${frameLine(f)}\n`;
    for (const l of f.locals ?? []) out += `        ${l.name} = ${l.value}\n`;
  }
  if (t.note) out += `    (${t.note})\n`;
  if (t.error) out += `    ... frames end early: ${t.error}\n`;
  return out;
}

/** Python frames as "function (file:line)"; native ones marked, named by object (and offset when gdb has no name). */
function frameLine(f: StackFrame): string {
  if (f.kind === 'syscall') return `[kernel] ${f.function}`;
  if (f.kind === 'native') {
    const where = f.offset ? `${basename(f.file)}+${f.offset}` : basename(f.file);
    return `[native] ${f.function} (${where}${f.source ? `, ${f.source}` : ''})`;
  }
  return `${f.function} (${f.file}:${f.line ?? '?'})`;
}
