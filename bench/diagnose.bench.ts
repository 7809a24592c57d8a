/**
 * What `memwhy diagnose` costs the target: a program that counts its own
 * loop iterations per 0.5 s runs alone, then under a 10 s diagnose; the
 * slowdown is the drop in its rate, and each census pause is read from the
 * diagnosis.
 */
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = join(fileURLToPath(import.meta.url), '..', '..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
}

export async function run(): Promise<void> {
  console.log('| Python | rate alone (iter/0.5 s) | rate during diagnose | slowdown | slowest window | census pauses (start/middle/end max) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const python of ['/usr/bin/python3', `${process.env.HOME}/.pyenv/versions/3.13.0/bin/python3.13`]) {
    const child = spawn(python, ['-u', join(ROOT, 'bench', 'fixtures', 'count_iterations.py')], { stdio: ['ignore', 'pipe', 'ignore'] });
    const rates: { t: number; n: number }[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = /^rate (\d+) ([\d.]+)/.exec(buf.slice(0, nl));
        if (m) rates.push({ n: Number(m[1]), t: Number(m[2]) * 1000 });
        buf = buf.slice(nl + 1);
      }
    });
    await new Promise((r) => setTimeout(r, 4000));
    const alone = median(rates.map((r) => r.n));
    const t0 = Date.now();
    const { stdout } = await execFileP(join(ROOT, 'bin', 'memwhy'), ['diagnose', String(child.pid), '--duration', '10s', '--json'], {
      maxBuffer: 64 << 20,
    });
    const t1 = Date.now();
    const d = JSON.parse(stdout) as { heap: { pause_ms: number } | null };
    const during = rates.filter((r) => r.t >= t0 && r.t <= t1).map((r) => r.n);
    child.kill('SIGKILL');
    const mean = during.reduce((a, b) => a + b, 0) / Math.max(1, during.length);
    console.log(
      `| ${python.includes('pyenv') ? 'pyenv 3.13' : 'Debian 3.11'} | ${alone} | ${mean.toFixed(0)} | ${((1 - mean / alone) * 100).toFixed(0)} % | ${Math.min(...during)} | ${d.heap?.pause_ms.toFixed(0) ?? 'n/a'} ms |`,
    );
  }
}
