/** `memwhy growth PID`: which types grow, from censuses taken a few seconds apart in one agent session. */
import { growthOf } from '../analyze/growth.js';
import { withAgent } from '../attach/agentSession.js';
import { collectCensus, type Census } from '../collect/census.js';
import { formatCount } from '../report/heap.js';
import { renderGrowth } from '../report/growth.js';
import { formatBytes, formatMs, formatSeconds } from '../util/units.js';
import { interruptSignal } from '../util/interrupt.js';
import { ATTACH_OPTIONS, attachSettings } from './attachOptions.js';
import { countOption, durationOption } from './parse.js';
import { defineCommand, flagOf, parsePid, printJson, type OptionSpec } from './spec.js';
import { sleep } from '../util/sleep.js';

const OPTIONS = [
  { flags: '--every <duration>', description: 'time between censuses', default: '5s' },
  { flags: '--times <n>', description: 'censuses to take (3 or more tell steady growth from churn)', default: '3' },
  { flags: '--top <n>', description: 'rows to show', default: '20' },
  ...ATTACH_OPTIONS,
] as const satisfies readonly OptionSpec[];

export const growthCommand = defineCommand({
  name: 'growth',
  args: '<pid>',
  summary: "show which object types grow between heap censuses (objgraph's show_growth, without collecting)",
  options: OPTIONS,
  help: [
    'Keeps one agent session open and takes a census every --every. Unlike objgraph.show_growth it does',
    'not run gc.collect() first: a collection can hide the leak. "steady" marks types that grew in every interval.',
    '',
    'Examples:',
    '  memwhy growth 4242',
    '  memwhy growth 4242 --every 30s --times 5',
  ].join('\n'),
  async run(args, opts) {
    const pid = parsePid(args[0]);
    const everyS = durationOption('--every', opts.every);
    const times = countOption('--times', opts.times, 2);
    const top = countOption('--top', opts.top);
    const signal = interruptSignal();
    const say = (line: string): void => {
      if (!opts.json) process.stderr.write(`memwhy: ${line}\n`);
    };
    const censuses: Census[] = [];
    await withAgent(
      pid,
      async (s) => {
        for (let i = 0; i < times && !signal.aborted; i++) {
          if (i > 0) await sleep(everyS * 1000 - (Date.now() - censuses[i - 1]!.t), signal);
          if (signal.aborted) break;
          const c = await collectCensus(s);
          censuses.push(c);
          say(
            `census ${i + 1}/${times}: ${formatCount(c.total.count)} objects, ${formatBytes(c.total.bytes)}, paused ${formatMs(c.pause_ms)}` +
              (i + 1 < times ? `; next in ${formatSeconds(everyS)}` : ''),
          );
        }
      },
      attachSettings(opts, signal),
    );
    const finding = growthOf(censuses);
    if (opts.json) printJson({ pid, every_s: everyS, ...finding, types: finding.types.slice(0, top) });
    else process.stdout.write(renderGrowth(pid, finding, top, { times: flagOf(OPTIONS, 'times'), top: flagOf(OPTIONS, 'top') }));
    return 0;
  },
});
