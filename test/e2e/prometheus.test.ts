// fineprint in an operator's Prometheus: the shipped alerting rules pass the real promtool (syntax
// and their unit tests), and a real Prometheus scrapes a running all-in-one, sees its sources up,
// its process metrics, and the OOM kill it filed counted by KB entry and severity.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import { removeContainers, testDocker, waitFor } from '../support/docker.js';
import { REPO_ROOT, startFineprint, type RunningFineprint } from '../support/fineprint.js';
import { expectOneOomEach, oomKill } from '../support/scenarios.js';

const run = promisify(execFile);
const PROMETHEUS = process.env.FINEPRINT_TEST_PROMETHEUS ?? '/usr/bin/prometheus';
const PROMTOOL = process.env.FINEPRINT_TEST_PROMTOOL ?? '/usr/bin/promtool';
const RULES_DIR = join(REPO_ROOT, 'docs', 'prometheus');
const PREFIX = 'fp-prom-';
const docker = testDocker();

describe('the shipped alerting rules', () => {
  it('pass `promtool check rules`', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', join(RULES_DIR, 'fineprint.rules.yml')]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('fire on the series their unit tests give, and only there (`promtool test rules`)', async () => {
    const { stdout } = await run(PROMTOOL, ['test', 'rules', 'fineprint.rules.test.yml'], { cwd: RULES_DIR });
    expect(stdout).toContain('SUCCESS');
  });
});


describe('a real Prometheus scraping the all-in-one', () => {
  let fp: RunningFineprint;
  let prometheus: ChildProcess;
  let promUrl: string;
  let promLog = '';
  const dir = mkdtempSync(join(tmpdir(), 'fineprint-prometheus-'));

  /** The value of each series an instant query returns, by the given label. */
  async function query(expr: string, by: string): Promise<Record<string, number>> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    expect(body.status, promLog).toBe('success');
    return Object.fromEntries(body.data.result.map((r) => [r.metric[by] ?? '', Number(r.value[1])]));
  }

  beforeAll(async () => {
    await removeContainers(docker, PREFIX);
    fp = await startFineprint();
    const target = new URL(fp.url).host;
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${join(RULES_DIR, 'fineprint.rules.yml')}']`,
        'scrape_configs:',
        '  - job_name: fineprint',
        `    static_configs: [{ targets: ['${target}'] }]`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));
    await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok || undefined, 60_000, `Prometheus ready:\n${promLog}`);
  });

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await fp?.stop();
    await removeContainers(docker, PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees the target up, every source reading and the standard process metrics', async () => {
    const up = await waitFor(async () => {
      const sources = await query('fineprint_source_up', 'source');
      return sources['docker-events'] === 1 && sources['container-logs'] === 1 ? sources : undefined;
    }, 30_000, 'fineprint_source_up scraped for the Docker sources');
    expect(up).toMatchObject({ 'docker-events': 1, 'container-logs': 1 });
    expect(await query('up{job="fineprint"}', 'job')).toEqual({ fineprint: 1 });
    const rss = await query('process_resident_memory_bytes{job="fineprint"}', 'job');
    expect(rss.fineprint).toBeGreaterThan(10 * 1024 * 1024);
    expect(Object.keys(await query('nodejs_eventloop_lag_p99_seconds{job="fineprint"}', 'job'))).toEqual(['fineprint']);
    // Healthy: none of the shipped alerts is pending or firing.
    expect(await query('ALERTS', 'alertname')).toEqual({});
  });

  it('counts the OOM kill it filed by KB entry and severity, with its latency, and no container id as a label', async () => {
    await oomKill(docker, `${PREFIX}oom`);
    await expectOneOomEach(fp.url, [`${PREFIX}oom`]);
    const filed = await waitFor(async () => {
      const byKb = await query('fineprint_incidents_filed_total{job="fineprint"}', 'kb');
      return byKb['oom-kill'] === 1 ? byKb : undefined;
    }, 30_000, 'the oom-kill incident counted in Prometheus');
    expect(filed['oom-kill']).toBe(1);
    expect(await query('fineprint_incidents_filed_total{kb="oom-kill"}', 'severity')).toEqual({ critical: 1 });
    const latency = await query('fineprint_event_to_incident_seconds_count{job="fineprint"}', 'job');
    expect(latency.fineprint).toBeGreaterThanOrEqual(1);
    // Bounded cardinality: no series of fineprint's carries a container's id or name.
    const labels = (await (await fetch(`${promUrl}/api/v1/labels`)).json()) as { data: string[] };
    expect(labels.data.filter((l) => /container|id$/.test(l))).toEqual([]);
  });
});
