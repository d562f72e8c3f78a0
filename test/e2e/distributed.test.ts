// Distributed fineprint as separate processes: collector -> Kafka -> classifier -> Kafka -> API ->
// Elasticsearch, on a real broker and a real Elasticsearch. The all-in-one scenarios pass again,
// hosts stay apart, and killing the classifier, restarting the broker or stopping Elasticsearch
// loses nothing and doubles nothing.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, REPO_ROOT, startRole, type RunningFineprint } from '../support/fineprint.js';
import { ALLOCATE, CONTAINER_SCENARIOS, injectKernelLine, KERNEL_SCENARIOS, onlyHostIncident, onlyIncident } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = `fp-dist-${process.pid}-`;
const MB = 1024 * 1024;
const run = `t${process.pid}${Date.now().toString(36)}`;
const env = {
  FINEPRINT_KAFKA_BROKERS: process.env.FINEPRINT_KAFKA_BROKERS ?? '',
  FINEPRINT_ELASTICSEARCH_URL: process.env.FINEPRINT_ELASTICSEARCH_URL ?? '',
  FINEPRINT_KAFKA_TOPIC_PREFIX: `fineprint-${run}`,
  FINEPRINT_ELASTICSEARCH_INDEX_PREFIX: `fineprint-${run}`,
  FINEPRINT_KAFKA_PARTITIONS: '3',
  FINEPRINT_HOST_NAME: 'host-a',
};
const roles: Partial<Record<'api' | 'classifier' | 'collector' | 'collectorB', RunningFineprint>> = {};
const api = () => roles.api?.url ?? '';

function service(name: 'kafka' | 'elasticsearch', action: 'start' | 'stop'): void {
  execFileSync('bash', [join(REPO_ROOT, 'scripts', 'services', `${name}.sh`), action], { stdio: 'inherit', timeout: 300_000 });
}

async function oomKill(name: string): Promise<void> {
  const container = await runContainer(docker, { name, cmd: ALLOCATE, memory: 32 * MB });
  await container.wait();
}

/** Every named container ends with exactly one oom-kill incident of count 1 on host-a. */
async function expectOneOomEach(names: string[], timeoutMs = 90_000): Promise<void> {
  for (const name of names) {
    await waitFor(async () => (await incidentsOf(api(), { container: name, kb: 'oom-kill', host: 'host-a' }))[0], timeoutMs, `the oom-kill incident of ${name}`, 250);
  }
  await new Promise((resolve) => setTimeout(resolve, 3000));
  for (const name of names) {
    const incidents = await incidentsOf(api(), { container: name, host: 'host-a' });
    expect(incidents.map((i) => [i.kbId, i.count]), name).toEqual([['oom-kill', 1]]);
  }
}

beforeAll(async () => {
  expect(env.FINEPRINT_KAFKA_BROKERS, 'FINEPRINT_KAFKA_BROKERS (scripts/services/kafka.sh env)').not.toBe('');
  expect(env.FINEPRINT_ELASTICSEARCH_URL, 'FINEPRINT_ELASTICSEARCH_URL (scripts/services/elasticsearch.sh env)').not.toBe('');
  await removeContainers(docker, PREFIX);
  roles.api = await startRole('api', env);
  roles.classifier = await startRole('classifier', env);
  roles.collector = await startRole('collector', env);
}, 180_000);

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  for (const role of Object.values(roles)) await role?.stop();
});

describe('distributed scenarios through Kafka and Elasticsearch', () => {
  CONTAINER_SCENARIOS.forEach((scenario, index) => {
    it(`${scenario.title} is ONE ${scenario.kbId} incident`, async () => {
      const name = `${PREFIX}${index}-${scenario.kbId}`;
      await scenario.run(docker, name);
      const incident = await onlyIncident(api(), name, scenario.kbId, Math.max(60_000, scenario.timeoutMs ?? 0));
      expect(incident.host).toBe('host-a');
      scenario.check?.(await incidentDetail(api(), incident.id));
    });
  });

  it.each(KERNEL_SCENARIOS)('a %s kernel line is ONE host-level incident', async (kbId, line) => {
    injectKernelLine(line);
    expect((await onlyHostIncident(api(), kbId)).host).toBe('host-a');
  });

  it('two collectors with different host names give separate incidents per host', async () => {
    roles.collectorB = await startRole('collector', { ...env, FINEPRINT_HOST_NAME: 'host-b' });
    const name = `${PREFIX}two-hosts`;
    await oomKill(name);
    const hosts = await waitFor(
      async () => {
        const found = (await incidentsOf(api(), { container: name, kb: 'oom-kill' })).map((i) => i.host).sort();
        return found.length === 2 ? found : undefined;
      },
      60_000,
      'an oom-kill incident on each host',
    );
    expect(hosts).toEqual(['host-a', 'host-b']);
    await roles.collectorB.stop();
    delete roles.collectorB;
  });
});

describe('faults lose nothing and double nothing', () => {
  it('the classifier killed mid-stream and restarted', async () => {
    const names = [0, 1, 2].map((i) => `${PREFIX}classifier-kill-${i}`);
    const kills = names.map((name) => oomKill(name));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await roles.classifier?.kill();
    await Promise.all(kills);
    roles.classifier = await startRole('classifier', env);
    await expectOneOomEach(names);
  });

  it('the Kafka broker restarted while containers die', async () => {
    const before = `${PREFIX}kafka-before`;
    await oomKill(before);
    service('kafka', 'stop');
    const during = [0, 1].map((i) => `${PREFIX}kafka-down-${i}`);
    for (const name of during) await oomKill(name);
    service('kafka', 'start');
    await expectOneOomEach([before, ...during], 180_000);
  });

  it('Elasticsearch stopped for 30 s, then restarted', async () => {
    service('elasticsearch', 'stop');
    const during = [0, 1].map((i) => `${PREFIX}es-down-${i}`);
    for (const name of during) await oomKill(name);
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    service('elasticsearch', 'start');
    await expectOneOomEach(during, 180_000);
  });
});
