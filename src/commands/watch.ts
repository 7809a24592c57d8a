/**
 * `memwhy watch`: every Python process on the host as Prometheus metrics,
 * read from /proc and the interpreters' memory without attaching. Thin: the
 * watcher samples, metrics.ts names the figures, the listener serves them.
 */
import type { AddressInfo } from 'node:net';
import { UserError } from '../errors.js';
import { selfCommand } from '../installation.js';
import { formatExposition } from '../report/exposition.js';
import { interruptSignal } from '../util/interrupt.js';
import { watchMetrics } from '../watch/metrics.js';
import { createListener } from '../watch/server.js';
import { Watcher, type WatchSettings } from '../watch/watcher.js';
import { bytesOption, durationOption } from './parse.js';
import { checkRule, type DiagnoseRule } from '../analyze/diagnoseWhen.js';
import { Diagnoser } from '../watch/diagnoser.js';
import { defineCommand, parsePid, type CommandOptions, type OptionSpec } from './spec.js';

const OPTIONS = [
  { flags: '--listen <host:port>', description: 'where to serve /metrics (port 0: any free port)', default: '127.0.0.1:9464' },
  { flags: '--pid <pids>', description: 'watch only these pids (comma-separated)' },
  { flags: '--match <regex>', description: 'watch only processes whose command line matches' },
  { flags: '--interval <duration>', description: 'how often to read each process', default: '5s' },
  { flags: '--window <duration>', description: 'the span the RSS growth slope is fitted over', default: '10m' },
  { flags: '--smaps-interval <duration>', description: 'how often to read PSS/USS (smaps_rollup walks every mapping)', default: '60s' },
  { flags: '--no-gc', description: "do not read the collector's counters from the interpreters' memory" },
  { flags: '--once', description: 'print one exposition on stdout and exit, without listening' },
  { flags: '--diagnose-when <rules>', description: 'run "memwhy diagnose" on a process that meets a rule: "growth>1MiB/s for 10m", "cgroup>80%" (comma-separated)' },
  { flags: '--out <dir>', description: 'where --diagnose-when keeps evidence and HTML reports (served at /reports/)' },
  { flags: '--out-max-size <size>', description: 'remove the oldest reports past this size', default: '1G' },
  { flags: '--diagnose-duration <duration>', description: "each diagnosis's window", default: '60s' },
  { flags: '--diagnose-gap <duration>', description: 'at least this long between two diagnoses on the host', default: '10m' },
  { flags: '--cool-down <duration>', description: 'never diagnose the same process again within this long', default: '6h' },
] as const satisfies readonly OptionSpec[];

type WatchCliOptions = CommandOptions<typeof OPTIONS>;

export const watchCommand = defineCommand({
  name: 'watch',
  summary: 'export every Python process on the host as Prometheus metrics (no attach)',
  options: OPTIONS,
  help: [
    'Examples:',
    '  memwhy watch                              # every Python process, on 127.0.0.1:9464/metrics',
    '  memwhy watch --match gunicorn --listen 0.0.0.0:9464',
    '  memwhy watch --once | grep resident',
    '',
    'Nothing is attached and no code runs in the watched processes: figures come from /proc and',
    "the collector's counters in the interpreter's memory (CPython 3.7-3.13; 2.7 and 3.6 when the",
    'interpreter keeps its symbol table), read with the permission ptrace needs (the same user, or',
    'root, or CAP_SYS_PTRACE).',
    '',
    'With --diagnose-when, a process that meets a rule is diagnosed (attached, as "memwhy diagnose"',
    'does) one at a time; each kept report is a memwhy_diagnosis_info series and a log line on stderr.',
    'Nothing a request to the listener says can start a diagnosis: it only reads.',
  ].join('\n'),
  async run(_args, opts) {
    if (opts.json) throw new UserError('watch speaks the Prometheus text format: it has no --json (try --once for one exposition on stdout)');
    const rules = opts.diagnoseWhen === undefined ? [] : parseRules(opts.diagnoseWhen);
    if (rules.length > 0 && !opts.out) throw new UserError('--diagnose-when needs --out DIR, where the reports are kept');
    if (rules.length > 0 && opts.once) throw new UserError('--diagnose-when watches over time: it cannot be used with --once');
    const intervalS = durationOption('--interval', opts.interval);
    const settings = watchSettings(opts, rules, intervalS);
    const listen = opts.once ? undefined : parseListen(opts.listen);
    const diagnoser = rules.length === 0 ? undefined : makeDiagnoser(opts);
    const watcher = new Watcher(settings);
    const exposition = (): string => formatExposition(watchMetrics(watcher.snapshot(), selfFigures(watcher), diagnoser?.records ?? []));
    if (!listen) {
      watcher.sample();
      process.stdout.write(exposition());
      watcher.close();
      return 0;
    }
    watcher.sample();
    const server = createListener({ metrics: exposition, ...(opts.out ? { reportsDir: opts.out } : {}) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(opts.listen, err)));
      server.listen(listen.port, listen.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    log(`listening on http://${host}:${address.port}/metrics, watching ${watcher.snapshot().length} Python processes`);
    const timer = setInterval(() => {
      watcher.sample();
      if (diagnoser) offerDiagnoses(watcher, diagnoser, rules);
    }, intervalS * 1000);
    const signal = interruptSignal();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(timer);
    await diagnoser?.stop();
    server.close();
    server.closeAllConnections();
    watcher.close();
    return 0;
  },
});

/** After each sample: the first process that meets a rule is offered to the diagnoser, which may decline (busy, gap, cool-down). */
function offerDiagnoses(watcher: Watcher, diagnoser: Diagnoser, rules: readonly DiagnoseRule[]): void {
  if (diagnoser.busy) return;
  const nowMs = Date.now();
  for (const p of watcher.snapshot()) {
    const input = { rss: watcher.rssSeries(p.identity.pid, p.identity.startTicks), nowS: nowMs / 1000, ...(p.cgroupMemory ? { cgroup: p.cgroupMemory } : {}) };
    for (const rule of rules) {
      const hit = checkRule(rule, input);
      if (hit && diagnoser.offer(p.identity, hit.trigger, hit.detail, nowMs)) return;
    }
  }
}

function makeDiagnoser(opts: WatchCliOptions): Diagnoser {
  return new Diagnoser({
    outDir: opts.out!,
    maxBytes: bytesOption('--out-max-size', opts.outMaxSize),
    durationS: durationOption('--diagnose-duration', opts.diagnoseDuration),
    minGapS: durationOption('--diagnose-gap', opts.diagnoseGap, { allowZero: true }),
    coolDownS: durationOption('--cool-down', opts.coolDown, { allowZero: true }),
    // This very memwhy: the single executable, or node and the CLI entry it was started with.
    command: selfCommand(),
    log,
  });
}

/** "growth>1MiB/s for 10m", "cgroup>80%", several separated by commas. */
export function parseRules(text: string): DiagnoseRule[] {
  return text.split(',').map((part) => {
    const rule = part.trim();
    const growth = /^growth\s*>\s*(\S+?)\/s\s+for\s+(\S+)$/.exec(rule);
    if (growth) {
      return { kind: 'growth', bytesPerSecond: bytesOption('--diagnose-when growth rate', growth[1]!), forS: durationOption('--diagnose-when duration', growth[2]!) };
    }
    const cgroup = /^cgroup\s*>\s*(\d+(?:\.\d+)?)\s*%$/.exec(rule);
    if (cgroup && Number(cgroup[1]) > 0 && Number(cgroup[1]) < 100) return { kind: 'cgroup-share', share: Number(cgroup[1]) / 100 };
    throw new UserError(`--diagnose-when: "${rule}" is not a rule: give "growth>1MiB/s for 10m" or "cgroup>80%" (a share below 100 %)`);
  });
}

function watchSettings(opts: WatchCliOptions, rules: readonly DiagnoseRule[], intervalS: number): WatchSettings {
  const pids = opts.pid === undefined ? undefined : new Set(opts.pid.split(',').map((p) => parsePid(p.trim())));
  let match: RegExp | undefined;
  if (opts.match !== undefined) {
    try {
      match = new RegExp(opts.match);
    } catch (err) {
      throw new UserError(`--match: not a regular expression: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return {
    filter: { excludeTreeOf: process.pid, ...(pids ? { pids } : {}), ...(match ? { match } : {}) },
    // The growth rules look back over their own span, from a reading just before it: keep readings that far back too.
    windowS: Math.max(durationOption('--window', opts.window), ...rules.map((r) => (r.kind === 'growth' ? r.forS + 2 * intervalS : 0))),
    smapsIntervalS: durationOption('--smaps-interval', opts.smapsInterval, { allowZero: true }),
    gc: opts.gc,
    // New processes are looked for every second at most: the search reads a file of every process on the host.
    discoverIntervalS: Math.max(1, intervalS),
  };
}

/** "127.0.0.1:9464", "[::1]:9464", ":9464" (every address), "9464". */
export function parseListen(text: string): { host?: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new UserError(`--listen takes host:port (127.0.0.1:9464, [::1]:9464 or :9464), not "${text}"`);
  }
  const host = m[1] || m[2] || undefined;
  return host ? { host, port } : { port };
}

function listenError(listen: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EADDRINUSE') return new UserError(`--listen ${listen}: the address is in use: stop what listens there or give another port`);
  if (err.code === 'EACCES') return new UserError(`--listen ${listen}: permission denied: ports below 1024 need root`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') return new UserError(`--listen ${listen}: no such address on this machine`);
  return err;
}

function selfFigures(watcher: Watcher): Parameters<typeof watchMetrics>[1] {
  const cpu = process.cpuUsage();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: process.memoryUsage.rss(),
    lastSampleSeconds: watcher.lastSampleSeconds,
    readErrors: watcher.readErrors,
  };
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} memwhy watch: ${line}\n`);
}
