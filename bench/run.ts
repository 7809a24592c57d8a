/**
 * `npm run bench`: every benchmark in bench/*.bench.ts, or those named on the
 * command line (`npm run bench -- exec stacks`). Benchmarks run real targets
 * and print figures; none asserts on time. Record results in BENCHMARKS.md.
 */
import { readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();

console.log(`# memwhy benchmarks, ${new Date().toISOString().slice(0, 10)}`);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
for (const f of files) {
  console.log(`## ${f.replace(/\.bench\.ts$/, '')}\n`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') {
    console.log(`(${f} exports no run())\n`);
    continue;
  }
  await mod.run();
  console.log('');
}
