/** `memwhy rss PID`: psutil's view of a process's memory over time, from /proc, without attaching. */
import { summarizeRss } from '../analyze/rss.js';
import { watchMemory, type MemorySample } from '../collect/rss.js';
import { UserError } from '../errors.js';
import { csvHeader, csvRow, progressLine, renderRssReport, type WatchEnd } from '../report/rss.js';
import { readStatus } from '../target/proc.js';
import { formatSeconds, parseDuration } from '../util/units.js';
import { defineCommand, flagOf, parsePid, printJson, type CommandOptions, type OptionSpec } from './spec.js';

const OPTIONS = [
  { flags: '--interval <duration>', description: 'time between samples', default: '1s' },
  { flags: '--duration <duration>', description: 'how long to sample (0: one sample)', default: '30s' },
  { flags: '--once', description: 'take a single sample (same as --duration 0)' },
  { flags: '--csv', description: 'print a CSV header, then one line per sample as it is taken' },
] as const satisfies readonly OptionSpec[];

type RssOptions = CommandOptions<typeof OPTIONS>;

function durationOption(name: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new UserError(`--${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function run(args: string[], opts: RssOptions): Promise<number> {
  const pid = parsePid(args[0]);
  const intervalS = durationOption('interval', opts.interval);
  if (intervalS <= 0) throw new UserError('--interval must be more than 0 (try 100ms or 1s)');
  const durationS = opts.once ? 0 : durationOption('duration', opts.duration);
  if (opts.json && opts.csv) throw new UserError('--json and --csv both print on stdout: choose one');
  // Fails with "no process with pid N" before any output.
  const { name } = readStatus(pid);

  const err = process.stderr;
  const live = err.isTTY === true && durationS > 0 && !(opts.csv && process.stdout.isTTY);
  if (durationS > 0 && !live) {
    err.write(`memwhy: sampling pid ${pid} every ${formatSeconds(intervalS)} for ${formatSeconds(durationS)} ` + `(Ctrl-C stops early and summarizes)\n`);
  }
  if (opts.csv) process.stdout.write(csvHeader() + '\n');

  let ended = 'complete' as WatchEnd;
  const controller = new AbortController();
  const onSigint = (): void => {
    ended = 'interrupted';
    controller.abort();
  };
  // `once`: a second Ctrl-C falls through to Node's default and ends the process.
  process.once('SIGINT', onSigint);
  let first: MemorySample | undefined;
  let samples: MemorySample[];
  try {
    samples = await watchMemory(pid, {
      intervalS,
      durationS,
      signal: controller.signal,
      onSample: (sample) => {
        first ??= sample;
        if (opts.csv) process.stdout.write(csvRow(sample) + '\n');
        if (live) err.write(`\r\x1b[2K${progressLine(pid, (sample.t - first.t) / 1000, durationS, sample)}`);
      },
      onExit: () => {
        ended = 'exited';
      },
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (live) err.write('\r\x1b[2K');
  }

  const summary = summarizeRss(samples);
  if (!summary) {
    err.write('memwhy: interrupted before the first sample\n');
    return 130;
  }
  if (ended === 'exited') {
    err.write(`memwhy: pid ${pid} exited after ${formatSeconds(summary.elapsed_s)}; reporting the ${samples.length} samples taken\n`);
  } else if (ended === 'interrupted') {
    err.write(`memwhy: interrupted; reporting the ${samples.length} samples taken\n`);
  }

  if (opts.json) {
    const { rss_start, rss_end, rss_min, rss_max, slope_bytes_per_s, r2 } = summary;
    printJson({
      pid,
      interval_s: intervalS,
      ended,
      samples,
      summary: { rss_start, rss_end, rss_min, rss_max, slope_bytes_per_s, r2 },
    });
  } else if (!opts.csv) {
    process.stdout.write(renderRssReport({ pid, name, interval_s: intervalS, ended, samples, summary }, flagOf(OPTIONS, 'duration')));
  }
  // Like ping, an interrupted run that printed its summary has succeeded.
  return 0;
}

export const rssCommand = defineCommand({
  name: 'rss',
  args: '<pid>',
  summary: "sample a process's memory from /proc (RSS, PSS, USS, swap, threads, fds) and its growth rate",
  options: OPTIONS,
  help: [
    'Reads /proc only: it works on any process and does not pause or attach to it.',
    'The growth rate is a least-squares line through the RSS samples; r² near 1 means steady growth.',
    '',
    'Examples:',
    '  memwhy rss 4242                          # 30 s at 1 s, then a summary',
    '  memwhy rss 4242 --interval 100ms --duration 5s --json',
    '  memwhy rss 4242 --duration 10m --csv > rss.csv',
  ].join('\n'),
  run,
});
