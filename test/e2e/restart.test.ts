// fineprint killed with SIGKILL while containers keep dying: after a restart on the same data dir,
// every OOM kill is one incident with count 1 — nothing lost, nothing doubled.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { removeContainers, testDocker, waitFor } from '../support/docker.js';
import { expectOneOomEach, oomKill } from '../support/scenarios.js';
import { incidentsOf, startFineprint, tempDataDir, type RunningFineprint } from '../support/fineprint.js';

const docker = testDocker();
const PREFIX = `fp-restart-${process.pid}-`;
let fp: RunningFineprint | undefined;

beforeAll(() => removeContainers(docker, PREFIX));
afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('restarts lose nothing and double nothing', () => {
  it('OOM kills before, during and after a SIGKILL each give exactly one incident', async () => {
    const dataDir = tempDataDir();
    fp = await startFineprint({}, dataDir);
    await oomKill(docker, `${PREFIX}before`);
    await waitFor(async () => (await incidentsOf(fp!.url, { container: `${PREFIX}before` }))[0], 30_000, 'the first incident');

    await fp.kill();
    fp = undefined;
    // While fineprint is down, two more containers die; dockerd keeps the events, kmsg the lines.
    await oomKill(docker, `${PREFIX}down-1`);
    await oomKill(docker, `${PREFIX}down-2`);

    fp = await startFineprint({}, dataDir);
    await oomKill(docker, `${PREFIX}after`);
    const names = ['before', 'down-1', 'down-2', 'after'].map((n) => `${PREFIX}${n}`);
    await expectOneOomEach(fp.url, names, { timeoutMs: 30_000 });
  });
});
