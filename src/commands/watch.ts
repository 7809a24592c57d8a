/**
 * `memwhy watch`: every Python process on the host as Prometheus metrics,
 * read from /proc and the interpreters' memory without attaching. Thin: the
 * watcher samples, metrics.ts names the figures, the listener serves them.
 */
import type { AddressInfo } from 'node:net';
import { UserError } from '../errors.js';
import { formatExposition } from '../report/exposition.js';
import { interruptSignal } from '../util/interrupt.js';
import { watchMetrics, type DiagnosisRecord } from '../watch/metrics.js';
import { createListener } from '../watch/server.js';
import { Watcher, type WatchSettings } from '../watch/watcher.js';
import { durationOption } from './parse.js';
import { parsePid, type CommandSpec } from './spec.js';

interface WatchCliOptions {
  listen: string;
  pid?: string;
  match?: string;
  interval: string;
  window: string;
  smapsInterval: string;
  gc: boolean;
  once?: boolean;
  json?: boolean;
}

export const watchCommand: CommandSpec<WatchCliOptions> = {
  name: 'watch',
  summary: 'export every Python process on the host as Prometheus metrics (no attach)',
  options: [
    { flags: '--listen <host:port>', description: 'where to serve /metrics (port 0: any free port)', default: '127.0.0.1:9464' },
    { flags: '--pid <pids>', description: 'watch only these pids (comma-separated)' },
    { flags: '--match <regex>', description: 'watch only processes whose command line matches' },
    { flags: '--interval <duration>', description: 'how often to read each process', default: '5s' },
    { flags: '--window <duration>', description: 'the span the RSS growth slope is fitted over', default: '10m' },
    { flags: '--smaps-interval <duration>', description: 'how often to read PSS/USS (smaps_rollup walks every mapping)', default: '60s' },
    { flags: '--no-gc', description: "do not read the collector's counters from the interpreters' memory" },
    { flags: '--once', description: 'print one exposition on stdout and exit, without listening' },
  ],
  help: [
    'Examples:',
    '  memwhy watch                              # every Python process, on 127.0.0.1:9464/metrics',
    '  memwhy watch --match gunicorn --listen 0.0.0.0:9464',
    '  memwhy watch --once | grep resident',
    '',
    'Nothing is attached and no code runs in the watched processes: figures come from /proc and',
    "(CPython 3.7-3.13) the collector's counters in the interpreter's memory, read with the permission",
    'ptrace needs (the same user, or root, or CAP_SYS_PTRACE).',
  ].join('\n'),
  async run(_args, opts) {
    const settings = watchSettings(opts);
    const listen = opts.once ? undefined : parseListen(opts.listen);
    const intervalS = durationOption('--interval', opts.interval);
    const watcher = new Watcher(settings);
    const diagnoses: DiagnosisRecord[] = [];
    const exposition = (): string =>
      formatExposition(
        watchMetrics(watcher.snapshot(), selfFigures(watcher), diagnoses),
      );
    if (!listen) {
      watcher.sample();
      process.stdout.write(exposition());
      watcher.close();
      return 0;
    }
    watcher.sample();
    const server = createListener({ metrics: exposition });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(opts.listen, err)));
      server.listen(listen.port, listen.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    log(`listening on http://${host}:${address.port}/metrics, watching ${watcher.snapshot().length} Python processes`);
    const timer = setInterval(() => watcher.sample(), intervalS * 1000);
    const signal = interruptSignal();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(timer);
    server.close();
    server.closeAllConnections();
    watcher.close();
    return 0;
  },
};

function watchSettings(opts: WatchCliOptions): WatchSettings {
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
    windowS: durationOption('--window', opts.window),
    smapsIntervalS: durationOption('--smaps-interval', opts.smapsInterval, { allowZero: true }),
    gc: opts.gc,
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
