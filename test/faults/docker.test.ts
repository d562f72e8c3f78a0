// Faults on the Docker side, against a Docker engine of this suite's own (the shared one is never
// restarted): dockerd restarted while containers keep dying, more events than the daemon keeps
// (256) while fineprint is down, and a flood of log lines from one container while another is
// OOM-killed. fineprint runs all-in-one; each case counts incidents against what was caused.
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, runContainer, waitFor } from '../support/docker.js';
import { incidentsOf, REPO_ROOT, startFineprint, tempDataDir, type RunningFineprint } from '../support/fineprint.js';
import { ALLOCATE, expectOneOomEach, oomKill } from '../support/scenarios.js';
import { PrivateDockerd } from '../support/services.js';

const MB = 1024 * 1024;
const PREFIX = `fp-faults-docker-${process.pid}-`;
const daemon = new PrivateDockerd(path.join(REPO_ROOT, '.cache', 'dockerd-faults'));
let docker: Docker;
let fp: RunningFineprint | undefined;

const start = (dataDir: string) => startFineprint({ DOCKER_HOST: daemon.dockerHost }, dataDir);

/** The value of one sample of the Prometheus text at url/metrics, 0 when absent. */
async function metric(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return Number(line?.split(' ').at(-1) ?? 0);
}

beforeAll(async () => {
  daemon.start();
  docker = new Docker({ socketPath: daemon.socket });
  await removeContainers(docker, PREFIX);
}, 300_000);

// A failed case must not leave its fineprint running into the next one.
afterEach(async () => {
  await fp?.stop();
  fp = undefined;
});

afterAll(() => daemon.remove(), 300_000);

describe('Docker faults lose nothing and double nothing', () => {
  it('dockerd restarted while containers keep dying: reconciled from inspect after the gap', async () => {
    const dataDir = tempDataDir();
    fp = await start(dataDir);
    await oomKill(docker, `${PREFIX}dockerd-before`);
    await waitFor(async () => (await incidentsOf(fp!.url, { container: `${PREFIX}dockerd-before`, kb: 'oom-kill' }))[0], 60_000, 'the first incident');

    // Containers that die while the daemon is down: they keep running under --live-restore and are
    // OOM-killed (or exit) a few seconds later, when no daemon is there to send `oom` or `die`.
    const dying = [0, 1].map((i) => `${PREFIX}dockerd-gap-oom-${i}`);
    const exiting = `${PREFIX}dockerd-gap-exit`;
    for (const name of dying) await runContainer(docker, { name, memory: 32 * MB, cmd: ['sh', '-c', `sleep 4; ${ALLOCATE[2]}`] });
    await runContainer(docker, { name: exiting, cmd: ['sh', '-c', 'sleep 4; exit 0'] });
    await daemon.pause();
    await new Promise((resolve) => setTimeout(resolve, 8000));
    daemon.start();
    for (const name of [...dying, exiting]) {
      expect((await docker.getContainer(name).inspect()).State.Running, `${name} ran to its end during the gap`).toBe(false);
    }
    await oomKill(docker, `${PREFIX}dockerd-after`);

    await expectOneOomEach(fp.url, [`${PREFIX}dockerd-before`, ...dying, `${PREFIX}dockerd-after`], { timeoutMs: 90_000 });
    // A clean exit during the gap is no incident.
    expect(await incidentsOf(fp.url, { container: exiting })).toEqual([]);
  });

  it('more than 256 Docker events while fineprint is down', async () => {
    const dataDir = tempDataDir();
    fp = await start(dataDir);
    await fp.stop();
    fp = undefined;

    // First the OOM kills, then 300 more events: the daemon keeps only its last 256, so the kills'
    // own events are gone from its buffer when fineprint comes back.
    const killed = [0, 1, 2].map((i) => `${PREFIX}replay-oom-${i}`);
    for (const name of killed) await oomKill(docker, name);
    const chatty = await runContainer(docker, { name: `${PREFIX}replay-chatty`, cmd: ['sleep', '600'] });
    // Each update is one `update` event.
    for (let i = 0; i < 300; i++) await chatty.update({ CpuShares: 512 + i });
    const since = Math.floor(Date.now() / 1000) - 600;
    const kept = (await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1 })) as unknown as NodeJS.ReadableStream;
    let raw = '';
    for await (const chunk of kept) raw += chunk.toString();
    const replayable = raw.split('\n').filter(Boolean);
    expect(replayable.length, 'the daemon keeps at most 256 events').toBeLessThanOrEqual(256);
    expect(replayable.some((line) => line.includes(`${PREFIX}replay-oom-0`)), 'the first kill fell out of the daemon buffer').toBe(false);

    fp = await start(dataDir);
    await expectOneOomEach(fp.url, killed, { timeoutMs: 90_000 });
    // Updating is no incident.
    expect(await incidentsOf(fp.url, { container: `${PREFIX}replay-chatty` })).toEqual([]);
  });

  it('a flood of log lines from one container does not hold back an OOM kill in another', async () => {
    fp = await start(tempDataDir());
    // An nginx upstream error (a line the log prefilter accepts), 200,000 times as fast as it goes.
    const line = '2026/11/27 10:00:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: localhost';
    await runContainer(docker, { name: `${PREFIX}flood`, cmd: ['sh', '-c', `yes '${line}' | head -n 200000; sleep 600`] });
    await waitFor(
      async () => ((await metric(fp!.url, 'fineprint_events_discarded_total', 'reason="rate_limit"')) > 0 ? true : undefined),
      60_000,
      'the flood to be rate-limited',
    );
    const victim = `${PREFIX}flood-victim`;
    await oomKill(docker, victim);
    await expectOneOomEach(fp.url, [victim], { timeoutMs: 60_000 });
    // The flood is one incident of its own, its excess counted as dropped, not queued.
    expect((await incidentsOf(fp.url, { container: `${PREFIX}flood` })).map((i) => i.kbId)).toEqual(['upstream-unavailable']);
    await waitFor(
      async () => ((await metric(fp!.url, 'fineprint_events_discarded_total', 'reason="rate_limit"')) > 100_000 ? true : undefined),
      120_000,
      'most of the 200,000 flood lines to be counted as dropped',
      1000,
    );
  });
});
