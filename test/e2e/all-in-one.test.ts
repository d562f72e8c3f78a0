// The all-in-one pipeline on a real Docker engine: real OOM kills, fork bombs, crash loops, health
// checks, ignored SIGTERMs, full disks and zombies become exactly one incident each, named after
// the container and explained by its KB entry.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../shared/incident.js';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, startFineprint, type RunningFineprint } from '../support/fineprint.js';

const docker = testDocker();
const PREFIX = `fp-aio-${process.pid}-`;
const MB = 1024 * 1024;
/** Allocates ~100 MB in the shell: far past a 32 MB limit. */
const ALLOCATE = ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'];
let fp: RunningFineprint;

/** Waits until the container has an incident of the given entry, then checks it is the only one. */
async function onlyIncident(container: string, kbId: string, timeoutMs = 30_000): Promise<Incident> {
  const found = await waitFor(
    async () => (await incidentsOf(fp.url, { container })).find((i) => i.kbId === kbId),
    timeoutMs,
    `a ${kbId} incident for ${container}`,
  );
  // Late signals (kernel lines, die events) must merge, not split: look again after they had time.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const all = await incidentsOf(fp.url, { container });
  expect(all.map((i) => i.kbId)).toEqual([kbId]);
  expect(all[0]?.container?.name).toBe(container);
  expect(all[0]?.count).toBeGreaterThanOrEqual(1);
  // Kernel lines name only the cgroup id: none may have filed a second, id-named incident.
  const byId = await incidentsOf(fp.url, { container: found.container?.id ?? '' });
  expect(byId.map((i) => i.id)).toEqual([found.id]);
  return all[0] ?? found;
}

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  fp = await startFineprint();
});

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('fineprint all-in-one on a real Docker engine', () => {
  it('an OOM kill under --memory is ONE oom-kill incident with the oom event, the kernel lines and the die 137', async () => {
    const name = `${PREFIX}oom`;
    await runContainer(docker, { name, cmd: ALLOCATE, memory: 32 * MB });
    const incident = await onlyIncident(name, 'oom-kill');
    expect(incident).toMatchObject({ severity: 'critical', status: 'open', count: 1, container: { image: expect.stringContaining('busybox') } });
    const detail = await incidentDetail(fp.url, incident.id);
    const kinds = detail.evidence.map((e) => `${e.kind}:${e.action ?? e.message.slice(0, 30)}`);
    expect(kinds).toEqual(expect.arrayContaining(['docker:oom', 'docker:die']));
    expect(detail.evidence.some((e) => e.kind === 'kernel')).toBe(true);
    expect(detail.evidence.find((e) => e.action === 'die')?.exitCode).toBe(137);
    expect(detail.kb?.why).toMatch(/memory/i);
    expect(detail.facts?.limits.memory).toBe(32 * MB);
  });

  it('a fork bomb against --pids-limit is ONE pids-exhausted incident', async () => {
    const name = `${PREFIX}forkbomb`;
    await runContainer(docker, { name, pidsLimit: 20, cmd: ['sh', '-c', 'for i in $(seq 40); do sleep 300 & done; sleep 300'] });
    const incident = await onlyIncident(name, 'pids-exhausted');
    const detail = await incidentDetail(fp.url, incident.id);
    expect(detail.facts?.limits.pids).toBe(20);
  });

  it('a crash loop under a restart policy is ONE crash-loop incident', async () => {
    const name = `${PREFIX}crashloop`;
    await runContainer(docker, { name, restart: { name: 'on-failure', maximumRetryCount: 3 }, cmd: ['sh', '-c', 'exit 3'] });
    const incident = await onlyIncident(name, 'crash-loop', 60_000);
    const detail = await incidentDetail(fp.url, incident.id);
    expect(detail.evidence.filter((e) => e.action === 'die').length).toBeGreaterThanOrEqual(3);
  });

  it('a failing health check is ONE unhealthy incident', async () => {
    const name = `${PREFIX}unhealthy`;
    await runContainer(docker, {
      name,
      cmd: ['sleep', '300'],
      healthcheck: { test: ['CMD-SHELL', 'exit 1'], intervalMs: 1000, timeoutMs: 1000, retries: 1 },
    });
    await onlyIncident(name, 'unhealthy');
  });

  it('PID 1 ignoring SIGTERM, then docker stop, is ONE sigterm-ignored incident', async () => {
    const name = `${PREFIX}sigterm`;
    const container = await runContainer(docker, { name, cmd: ['sh', '-c', 'trap "" TERM; while true; do sleep 1; done'] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await container.stop({ t: 2 });
    const incident = await onlyIncident(name, 'sigterm-ignored');
    const detail = await incidentDetail(fp.url, incident.id);
    expect(detail.evidence.map((e) => e.action)).toEqual(expect.arrayContaining(['kill', 'die']));
  });

  it('a write past a small tmpfs is ONE disk-full incident', async () => {
    const name = `${PREFIX}tmpfs`;
    await runContainer(docker, { name, tmpfs: { '/data': 'size=1m' }, cmd: ['sh', '-c', 'dd if=/dev/zero of=/data/x bs=1024 count=4096; sleep 300'] });
    await onlyIncident(name, 'disk-full');
  });

  it('a PID 1 that never reaps its children is ONE zombie-reaping incident', async () => {
    const name = `${PREFIX}zombie`;
    await runContainer(docker, { name, cmd: ['sh', '-c', 'sleep 1 & exec sleep 300'] });
    await onlyIncident(name, 'zombie-reaping');
  });

  it.each([
    ['hung-task', 'INFO: task fp-e2e-worker:4242 blocked for more than 120 seconds.'],
    ['unregister-netdevice', 'unregister_netdevice: waiting for lo to become free. Usage count = 1'],
    ['conntrack-full', 'nf_conntrack: table full, dropping packet'],
  ])('a %s kernel line injected through /dev/kmsg is ONE host-level incident', async (kbId, line) => {
    writeFileSync('/dev/kmsg', `<3>${line}\n`);
    const incident = await waitFor(
      async () => (await incidentsOf(fp.url, { kb: kbId })).find((i) => i.container === null),
      20_000,
      `a host-level ${kbId} incident`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const all = await incidentsOf(fp.url, { kb: kbId });
    expect(all).toHaveLength(1);
    expect(incident.host).toBeTruthy();
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
    const incident = await onlyIncident(name, 'oom-kill');
    const served = JSON.stringify(await incidentDetail(fp.url, incident.id)) + JSON.stringify(await incidentsOf(fp.url, {}));
    expect(served).toContain('DB_PASSWORD');
    for (const secret of secrets) expect(served).not.toContain(secret);
    for (const file of readdirSync(fp.dataDir)) {
      const bytes = readFileSync(join(fp.dataDir, file));
      for (const secret of secrets) expect(bytes.includes(secret), `${secret} found in ${file}`).toBe(false);
    }
  });
});
