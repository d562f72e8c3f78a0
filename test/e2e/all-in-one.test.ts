// The all-in-one pipeline on a real Docker engine: real OOM kills, fork bombs, crash loops, health
// checks, ignored SIGTERMs, full disks and zombies become exactly one incident each, named after
// the container and explained by its KB entry.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, risksOf, startFineprint, type RunningFineprint } from '../support/fineprint.js';
import { CONTAINER_SCENARIOS, injectKernelLine, KERNEL_SCENARIOS, onlyHostIncident, onlyIncident } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = `fp-aio-${process.pid}-`;
const MB = 1024 * 1024;
let fp: RunningFineprint;

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  fp = await startFineprint();
});

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('fineprint all-in-one on a real Docker engine', () => {
  CONTAINER_SCENARIOS.forEach((scenario, index) => {
    it(`${scenario.title} is ONE ${scenario.kbId} incident`, async () => {
      const name = `${PREFIX}${index}-${scenario.kbId}`;
      await scenario.run(docker, name);
      const incident = await onlyIncident(fp.url, name, scenario.kbId, scenario.timeoutMs);
      // Evidence arrives in several writes (a kernel report is read after the events that filed the incident).
      const check = scenario.check;
      if (check) await waitFor(async () => (check(await incidentDetail(fp.url, incident.id)), true), 30_000, `the ${scenario.kbId} incident of ${name} as checked`, 250);
      // The list and the page read a sentence built from the evidence, not the raw event.
      const summary = scenario.summary?.(name);
      if (summary) {
        const read = async () => [(await incidentsOf(fp.url, { container: name }))[0]?.summary, (await incidentDetail(fp.url, incident.id)).summary];
        const summaries = await waitFor(async () => ((await read()).every((s) => summary.test(s ?? '')) ? await read() : undefined), 30_000, `the summary of ${name}`, 250).catch(read);
        for (const s of summaries) expect(s).toMatch(summary);
      }
    });
  });

  it.each(KERNEL_SCENARIOS)('a %s kernel line injected through /dev/kmsg is ONE host-level incident', async (kbId, line) => {
    injectKernelLine(line);
    expect((await onlyHostIncident(fp.url, kbId)).host).toBeTruthy();
  });

  it('never stores or serves the value of a secret env var or argument', async () => {
    const name = `${PREFIX}secret`;
    const secrets = ['s3cr3t-db-passw0rd-value', 'hunter2-cli-token-value'];
    await runContainer(docker, {
      name,
      env: [`DB_PASSWORD=${secrets[0]}`],
      memory: 32 * MB,
      cmd: ['sh', '-c', `echo connecting with --password=${secrets[1]}; x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo \${#x}`, '--', `--password=${secrets[1]}`],
    });
    const incident = await onlyIncident(fp.url, name, 'oom-kill');
    // The audit's findings quote the command (its risks: a shell as PID 1, no init).
    const risks = await waitFor(async () => {
      const found = await risksOf(fp.url, { container: name });
      return found.some((r) => r.kbId === 'sigterm-ignored') ? found : undefined;
    }, 30_000, `the risks of ${name}`);
    const served = JSON.stringify(await incidentDetail(fp.url, incident.id)) + JSON.stringify(await incidentsOf(fp.url, {})) + JSON.stringify(risks);
    expect(served).toContain('DB_PASSWORD');
    for (const secret of secrets) expect(served).not.toContain(secret);
    for (const file of readdirSync(fp.dataDir)) {
      const bytes = readFileSync(join(fp.dataDir, file));
      for (const secret of secrets) expect(bytes.includes(secret), `${secret} found in ${file}`).toBe(false);
    }
  });
});
