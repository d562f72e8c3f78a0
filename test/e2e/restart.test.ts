// fineprint killed with SIGKILL while containers keep dying: after a restart on the same data dir,
// every OOM kill is one incident with count 1 — nothing lost, nothing doubled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { ALLOCATE } from '../support/scenarios.js';
import { incidentsOf, startFineprint, tempDataDir, type RunningFineprint } from '../support/fineprint.js';

const docker = testDocker();
const PREFIX = `fp-restart-${process.pid}-`;
const MB = 1024 * 1024;
let fp: RunningFineprint | undefined;

async function oomKill(name: string): Promise<void> {
  const container = await runContainer(docker, { name, cmd: ALLOCATE, memory: 32 * MB });
  await container.wait();
}

beforeAll(() => removeContainers(docker, PREFIX));
afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('restarts lose nothing and double nothing', () => {
  it('OOM kills before, during and after a SIGKILL each give exactly one incident', async () => {
    const dataDir = tempDataDir();
    fp = await startFineprint({}, dataDir);
    await oomKill(`${PREFIX}before`);
    await waitFor(async () => (await incidentsOf(fp!.url, { container: `${PREFIX}before` }))[0], 30_000, 'the first incident');

    await fp.kill();
    fp = undefined;
    // While fineprint is down, two more containers die; dockerd keeps the events, kmsg the lines.
    await oomKill(`${PREFIX}down-1`);
    await oomKill(`${PREFIX}down-2`);

    fp = await startFineprint({}, dataDir);
    await oomKill(`${PREFIX}after`);
    const names = ['before', 'down-1', 'down-2', 'after'].map((n) => `${PREFIX}${n}`);
    for (const name of names) {
      await waitFor(async () => (await incidentsOf(fp!.url, { container: name, kb: 'oom-kill' }))[0], 30_000, `the oom-kill incident of ${name}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (const name of names) {
      const incidents = await incidentsOf(fp.url, { container: name });
      expect(incidents.map((i) => [i.kbId, i.count]), name).toEqual([['oom-kill', 1]]);
    }
  });
});
