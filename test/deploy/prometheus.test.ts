/**
 * memwhy watch against the real thing: Debian's prometheus scrapes it, loads
 * the shipped alerting rules (with their `for:` shortened so the test takes
 * seconds), and is asked through its HTTP query API what it saw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { tempDir } from '../helpers/tempDir.js';
import { startWatch } from '../helpers/watch.js';
import { readStatus } from '../../src/target/proc.js';

const RULES = join(ROOT, 'deploy', 'prometheus', 'memwhy-alerts.yml');
const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const missing = existsSync(PROMETHEUS) && existsSync(PROMTOOL) ? false : 'prometheus is not installed (apt-get install prometheus; scripts/setup.sh does)';

test('the shipped alerting rules pass promtool check rules', { skip: missing }, () => {
  const out = execFileSync(PROMTOOL, ['check', 'rules', RULES], { encoding: 'utf8', timeout: 60_000 });
  assert.match(out, /SUCCESS: 5 rules found/);
});

interface Vector {
  metric: Record<string, string>;
  value: [number, string];
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('prometheus scrapes watch: the series hold the processes figures, the leak alert fires for the leaker only, and its diagnosis is kept', { skip: missing }, async () => {
  const py = interpreters().find((p) => p.label.startsWith('debian')) ?? interpreters().at(-1)!;
  const dir = tempDir('memwhy-prometheus-');
  // 1 MiB every 100 ms (10 MiB/s) against one that sets its collector and sleeps.
  const leaker = await startTarget(py.path, ['grow_steadily.py', '1', '100', '900'], { privateTmp: true });
  const steady = await startTarget(py.path, ['gc_settings_then_sleep.py'], { privateTmp: true });
  const watch = await startWatch([
    '--pid',
    `${leaker.pid},${steady.pid}`,
    '--interval',
    '500ms',
    '--window',
    '5s',
    '--diagnose-when',
    'growth>2MiB/s for 3s',
    '--diagnose-duration',
    '4s',
    '--diagnose-gap',
    '0s',
    '--out',
    join(dir, 'reports'),
  ]);
  // The shipped rules with every `for:` cut to 2 s: the expressions are the ones users load.
  const rules = join(dir, 'rules.yml');
  writeFileSync(rules, readFileSync(RULES, 'utf8').replace(/^(\s+for:) \S+$/gm, '$1 2s'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(rules)}`,
      'scrape_configs:',
      '  - job_name: memwhy',
      '    static_configs:',
      `      - targets: ["127.0.0.1:${watch.port}"]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  let log = '';
  const prometheus: ChildProcess = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  prometheus.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const query = async (promql: string): Promise<Vector[]> => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; data?: { result: Vector[] } };
      return body.status === 'success' ? body.data!.result : [];
    } catch {
      return []; // not up yet
    }
  };
  const until = async (promql: string, ok: (v: Vector[]) => boolean, what: string): Promise<Vector[]> => {
    const deadline = Date.now() + 180_000;
    let last: Vector[] = [];
    while (Date.now() < deadline) {
      last = await query(promql);
      if (ok(last)) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${what}: ${promql} gave ${JSON.stringify(last)}\nprometheus:\n${log.slice(-2000)}\nwatch:\n${watch.stderr()}`);
  };
  try {
    const S = String(steady.pid);
    const L = String(leaker.pid);
    const rss = await until(`memwhy_process_resident_memory_bytes{pid="${S}"}`, (v) => v.length === 1, 'the steady process is scraped');
    assert.equal(rss[0]!.metric.python_version, py.version);
    assert.equal(rss[0]!.metric.job, 'memwhy');
    // privateTmp runs the fixture as /tmp/fixture.py.
    assert.match(rss[0]!.metric.command!, /^python3\S* -u \/tmp\/fixture\.py$/);
    const actual = readStatus(steady.pid).vmRss;
    assert.ok(Math.abs(Number(rss[0]!.value[1]) - actual) < actual * 0.1, `RSS ${rss[0]!.value[1]} vs /proc ${actual}`);
    if (py.major === 3 && py.minor >= 7) {
      const threshold = await until(`memwhy_python_gc_threshold{pid="${S}"}`, (v) => v.length === 3, 'the thresholds are scraped');
      assert.deepEqual(threshold.map((v) => [v.metric.generation, v.value[1]]).sort(), [
        ['0', '123'],
        ['1', '7'],
        ['2', '5'],
      ]);
      await until(`ALERTS{alertname="PythonCollectorDisabled",alertstate="firing",pid="${S}"}`, (v) => v.length === 1, 'the collector-disabled alert fires');
    }
    const slope = await until(`memwhy_process_resident_memory_growth_bytes_per_second{pid="${L}"}`, (v) => v.length === 1 && Number(v[0]!.value[1]) > 2 ** 20, 'the leaker grows');
    assert.ok(Number(slope[0]!.value[1]) < 100 * 2 ** 20, `slope ${slope[0]!.value[1]} is near the 10 MiB/s the fixture makes`);
    await until(`ALERTS{alertname="PythonMemoryFastLeak",alertstate="firing"}`, (v) => v.some((x) => x.metric.pid === L), 'the fast-leak alert fires for the leaker');
    const leakAlerts = await query(`ALERTS{alertname=~"PythonMemory.*Leak"}`);
    assert.deepEqual([...new Set(leakAlerts.map((a) => a.metric.pid))], [L], 'no leak alert for the steady process');
    const info = await until('memwhy_diagnosis_info', (v) => v.length > 0, 'a diagnosis is taken and exported');
    assert.deepEqual(
      info.map((v) => v.metric.pid),
      [L],
    );
    const report = info[0]!.metric.report!;
    assert.equal((await watch.get(`/reports/${report}/report.html`)).status, 200);
    assert.ok(existsSync(join(dir, 'reports', report, 'evidence.json')));
    assert.ok(leaker.alive() && steady.alive());
    // Every query of the shipped Grafana dashboard is valid PromQL and finds series.
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'memwhy-watch-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    for (const panel of dashboard.panels) {
      for (const t of panel.targets) {
        const expr = t.expr.replace(/\$(instance|command)/g, '.*');
        const res = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string };
        assert.equal(res.status, 'success', `${panel.title}: ${expr}`);
      }
    }
    const panelRss = await query(dashboard.panels[0]!.targets[0]!.expr.replace(/\$(instance|command)/g, '.*'));
    assert.deepEqual(panelRss.map((v) => v.metric.pid).sort(), [L, S].sort());
  } finally {
    prometheus.kill('SIGTERM');
    await new Promise((r) => (prometheus.exitCode !== null ? r(null) : prometheus.once('exit', r)));
    await watch.stop();
    await leaker.kill();
    await steady.kill();
  }
});
