/**
 * Runs the diagnoses `memwhy watch --diagnose-when` asks for: one at a time,
 * at most one per `minGapS` across the host, never the same process again
 * within `coolDownS`. Each runs as `memwhy diagnose PID` in a child process
 * (its own time limits and its own clean-up on every path) and leaves a
 * directory under --out with the evidence, the HTML report and a record;
 * the oldest directories go when --out passes its size limit.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiagnosisRecord } from './metrics.js';
import type { ProcessIdentity } from './watcher.js';

export interface DiagnoserSettings {
  outDir: string;
  /** --out's size limit in bytes: the oldest reports are removed past it. */
  maxBytes: number;
  /** The diagnosis window (diagnose --duration). */
  durationS: number;
  minGapS: number;
  coolDownS: number;
  /** How to run memwhy: node and the CLI entry of this very memwhy. */
  command: { file: string; args: string[] };
  log(line: string): void;
}

/** What each kept report's directory holds beside diagnose's own files. */
export const RECORD_FILE = 'watch.json';
/** The allocation sites traced, as pprof (diagnose --pprof). */
export const PROFILE_FILE = 'profile.pb.gz';

export class Diagnoser {
  private running: { pid: number; child: ReturnType<typeof spawn> } | undefined;
  private lastStartMs = -Infinity;
  private readonly lastByProcess = new Map<string, number>();
  readonly records: DiagnosisRecord[];

  constructor(private readonly settings: DiagnoserSettings) {
    mkdirSync(settings.outDir, { recursive: true });
    this.records = loadRecords(settings.outDir);
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Starts a diagnosis of `id` if none is running, the host-wide gap has
   * passed and the process is not cooling down; says whether it started.
   */
  offer(id: ProcessIdentity, trigger: string, detail: string, nowMs: number): boolean {
    const key = `${id.pid}:${id.startTicks}`;
    if (this.running) return false;
    if (nowMs - this.lastStartMs < this.settings.minGapS * 1000) return false;
    if (nowMs - (this.lastByProcess.get(key) ?? -Infinity) < this.settings.coolDownS * 1000) return false;
    this.lastStartMs = nowMs;
    this.lastByProcess.set(key, nowMs);
    const name = `${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}-pid${id.pid}`;
    const dir = join(this.settings.outDir, name);
    this.settings.log(`pid ${id.pid} (${id.command}): ${detail}: diagnosing for ${this.settings.durationS} s into ${dir}`);
    const args = [
      ...this.settings.command.args,
      'diagnose',
      String(id.pid),
      '--duration',
      `${this.settings.durationS}s`,
      '--no-workers',
      '--save',
      dir,
      '--html',
      join(dir, 'report.html'),
      '--pprof',
      join(dir, PROFILE_FILE),
      '--json',
    ];
    const child = spawn(this.settings.command.file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.running = { pid: id.pid, child };
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      this.running = undefined;
      const cause = code === 0 ? causeOf(out) : undefined;
      if (cause === undefined) {
        const why =
          err
            .trim()
            .split('\n')
            .filter((l) => l.startsWith('memwhy:'))
            .pop() ?? `exit ${code}`;
        this.settings.log(`pid ${id.pid}: the diagnosis failed: ${why}`);
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      const record: DiagnosisRecord = { pid: id.pid, exe: id.exe, command: id.command, cause, trigger, report: name, finishedAt: new Date() };
      writeFileSync(join(dir, RECORD_FILE), JSON.stringify(record, null, 2) + '\n');
      this.records.push(record);
      this.settings.log(`pid ${id.pid}: diagnosis: ${cause}; report /reports/${name}/report.html`);
      this.prune();
    });
    child.on('error', (e) => this.settings.log(`cannot run memwhy diagnose: ${e.message}`));
    return true;
  }

  /** Stops a running diagnosis (watch is exiting): diagnose detaches on SIGTERM. */
  async stop(): Promise<void> {
    const r = this.running;
    if (!r) return;
    const closed = new Promise((resolve) => r.child.once('close', resolve));
    r.child.kill('SIGTERM');
    await closed;
  }

  /** Removes the oldest report directories until --out fits its size limit. */
  private prune(): void {
    const dirs = readdirSync(this.settings.outDir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    let total = dirs.reduce((sum, d) => sum + sizeOf(join(this.settings.outDir, d)), 0);
    while (total > this.settings.maxBytes && dirs.length > 1) {
      const oldest = dirs.shift()!;
      const path = join(this.settings.outDir, oldest);
      total -= sizeOf(path);
      rmSync(path, { recursive: true, force: true });
      const i = this.records.findIndex((r) => r.report === oldest);
      if (i >= 0) this.records.splice(i, 1);
      this.settings.log(`removed ${path} to keep ${this.settings.outDir} under ${this.settings.maxBytes} bytes`);
    }
  }
}

function causeOf(json: string): string | undefined {
  try {
    const cause = (JSON.parse(json) as { verdict?: { cause?: unknown } }).verdict?.cause;
    return typeof cause === 'string' ? cause : undefined;
  } catch {
    return undefined;
  }
}

/** The reports a previous run kept, so their metric survives a restart of watch. */
function loadRecords(dir: string): DiagnosisRecord[] {
  const out: DiagnosisRecord[] = [];
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name, RECORD_FILE);
    if (!existsSync(file)) continue;
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as DiagnosisRecord & { finishedAt: string };
      out.push({ ...r, report: name, finishedAt: new Date(r.finishedAt) });
    } catch {
      // A record cut short by a crash: the report is still served, without a metric.
    }
  }
  return out;
}

function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, n) => sum + sizeOf(join(path, n)), 0);
}
