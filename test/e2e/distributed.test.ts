// Distributed fineprint as separate processes: collector -> Kafka -> classifier -> Kafka -> API ->
// Elasticsearch, on a real broker and a real Elasticsearch. The all-in-one scenarios pass again and
// hosts stay apart; the faults (processes killed, broker and Elasticsearch down) are test/faults/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, risksOf, startRole, type RunningFineprint } from '../support/fineprint.js';
import { CONTAINER_SCENARIOS, injectKernelLine, KERNEL_SCENARIOS, oomKill, onlyHostIncident, onlyIncident } from '../support/scenarios.js';
import { distributedEnv, startPipeline } from '../support/services.js';

const docker = testDocker();
const PREFIX = `fp-dist-${process.pid}-`;
const env = distributedEnv('host-a');
const roles: Partial<Record<'api' | 'classifier' | 'collector' | 'collectorB', RunningFineprint>> = {};
const api = () => roles.api?.url ?? '';

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  await startPipeline(env, roles);
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
      // Evidence arrives in several writes (a kernel report is read after the events that filed the incident).
      const check = scenario.check;
      if (check) await waitFor(async () => (check(await incidentDetail(api(), incident.id)), true), 30_000, `the ${scenario.kbId} incident of ${name} as checked`, 250);
    });
  });

  it.each(KERNEL_SCENARIOS)('a %s kernel line is ONE host-level incident', async (kbId, line) => {
    injectKernelLine(line);
    expect((await onlyHostIncident(api(), kbId)).host).toBe('host-a');
  });

  it("the audit's findings travel on the risks topic to Elasticsearch, never as incidents, and go with their container", async () => {
    const name = `${PREFIX}risky`;
    const container = await runContainer(docker, { name, cmd: ['sleep', '300'] });
    const risks = await waitFor(async () => {
      const found = await risksOf(api(), { container: name });
      return found.some((r) => r.kbId === 'pids-exhausted') ? found : undefined;
    }, 60_000, `the risks of ${name}`);
    expect(risks.every((r) => r.host === 'host-a' && r.container?.name === name)).toBe(true);
    expect(await incidentsOf(api(), { container: name })).toEqual([]);
    await container.remove({ force: true });
    await waitFor(async () => ((await risksOf(api(), { container: name })).length === 0 ? true : undefined), 60_000, `the risks of ${name} to go`);
  });

  it('two collectors with different host names give separate incidents per host', async () => {
    roles.collectorB = await startRole('collector', { ...env, FINEPRINT_HOST_NAME: 'host-b' });
    const name = `${PREFIX}two-hosts`;
    await oomKill(docker, name);
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
