/**
 * Measures each zoo service's leak rate and RSS jitter under its load driver,
 * as memwhy would see it: after the same warm-up as the zoo tests, VmRSS of
 * the diagnosed pid every 0.5 s for 60 s.
 *
 *   node --import tsx test/services/rates.ts [--seconds 60] [--warmup S] [name...]
 *
 * (--warmup defaults to the case's own: 10 s, or longer where it says so.)
 *
 * Prints per case the least-squares slope (KiB/s), its r², and the median
 * and largest absolute change of RSS from one second to the next.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE_NAMES, SERVICES, startService, vmRssKiB, warmupMs, type ServiceName } from '../helpers/services.js';

const INTERVAL_S = 0.5;

export interface RateFigures {
  slopeKiBs: number;
  r2: number;
  medianJitterKiB: number;
  maxJitterKiB: number;
  startKiB: number;
  endKiB: number;
}

export function figures(samples: number[], intervalS: number): RateFigures {
  const n = samples.length;
  const xs = samples.map((_, i) => i * intervalS);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = samples.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (samples[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (samples[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  const step = Math.round(1 / intervalS);
  const jumps: number[] = [];
  for (let i = step; i < n; i++) jumps.push(Math.abs(samples[i]! - samples[i - step]!));
  jumps.sort((a, b) => a - b);
  return {
    slopeKiBs: slope,
    r2,
    medianJitterKiB: jumps[Math.floor(jumps.length / 2)] ?? 0,
    maxJitterKiB: jumps[jumps.length - 1] ?? 0,
    startKiB: samples[0]!,
    endKiB: samples[n - 1]!,
  };
}

async function measure(name: ServiceName, seconds: number, warmupS: number | undefined): Promise<RateFigures> {
  const svc = await startService(name);
  try {
    await sleep(warmupS === undefined ? warmupMs(name) : warmupS * 1000);
    const samples: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < seconds / INTERVAL_S; i++) {
      const due = t0 + i * INTERVAL_S * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      samples.push(vmRssKiB(svc.pid));
    }
    // Frameworks chat on stderr (uWSGI's banner); only failures matter here.
    const errors = svc
      .stderr()
      .split('\n')
      .filter((l) => /load\.py|Error|Traceback/.test(l));
    if (errors.length) process.stderr.write(`${name} stderr:\n${errors.slice(-5).join('\n')}\n`);
    return figures(samples, INTERVAL_S);
  } finally {
    await svc.stop();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let seconds = 60;
  let warmup: number | undefined;
  const names: ServiceName[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--seconds') seconds = Number(args[++i]);
    else if (args[i] === '--warmup') warmup = Number(args[++i]);
    else if (args[i]! in SERVICES) names.push(args[i] as ServiceName);
    else throw new Error(`unknown service ${args[i]}; one of ${SERVICE_NAMES.join(', ')}`);
  }
  const f = (v: number, w: number, d = 0): string => v.toFixed(d).padStart(w);
  console.log(
    `${'case'.padEnd(28)} ${'KiB/s'.padStart(7)} ${'r²'.padStart(5)} ${'jit med'.padStart(8)} ${'jit max'.padStart(8)} ${'start MiB'.padStart(9)} ${'end MiB'.padStart(8)}  expected`,
  );
  for (const name of names.length ? names : SERVICE_NAMES) {
    const r = await measure(name, seconds, warmup);
    console.log(
      `${name.padEnd(28)} ${f(r.slopeKiBs, 7, 1)} ${f(r.r2, 5, 2)} ${f(r.medianJitterKiB, 8)} ${f(r.maxJitterKiB, 8)} ${f(r.startKiB / 1024, 9, 1)} ${f(r.endKiB / 1024, 8, 1)}  ${SERVICES[name].expected}`,
    );
  }
}

await main();
