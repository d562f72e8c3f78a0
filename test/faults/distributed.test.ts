// Faults of the distributed mode: each role killed with SIGKILL mid-stream, the Kafka broker down
// for 30 s, Elasticsearch down for 60 s, the collector's buffer disk full, garbage on every topic. After each, every OOM kill caused
// is exactly one incident of count 1 with one `die` (nothing lost, nothing doubled), and every bad
// record is on the dead-letter topic with its reason. Last, two more API replicas with a webhook
// receiver: the one holding the notification lease is killed while an OOM kill waits out its
// group_wait, and the webhook gets that notification exactly once, from the other.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASON_HEADER } from '../../shared/kafka/consume.js';
import { topicNames } from '../../shared/kafka/topics.js';
import { RECORD_VERSION, type CollectorRecord } from '../../shared/event.js';
import { mountSmallDisk, saysDiskFull } from '../support/disk.js';
import { removeContainers, testDocker, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, startRole, type Role, type RunningFineprint } from '../support/fineprint.js';
import { produceRaw, readTopic } from '../support/kafka.js';
import { startReceiver } from '../support/receivers.js';
import { expectOneOomEach, oomKill } from '../support/scenarios.js';
import { distributedEnv, service, startPipeline } from '../support/services.js';

const docker = testDocker();
const PREFIX = `fp-faults-dist-${process.pid}-`;
const env = distributedEnv('host-a');
const topics = topicNames(env.FINEPRINT_KAFKA_TOPIC_PREFIX ?? '');
const roles: Partial<Record<Exclude<Role, 'start'>, RunningFineprint>> = {};
const api = () => roles.api?.url ?? '';
const names = (what: string, n: number) => Array.from({ length: n }, (_, i) => `${PREFIX}${what}-${i}`);

/** Kills `role` with SIGKILL while three containers are being OOM-killed, then starts it again. */
async function killMidStream(role: Exclude<Role, 'start'>, containers: string[]): Promise<void> {
  const kills = containers.map((name) => oomKill(docker, name));
  // Mid-stream: the first kills are on their way through the pipeline when the role dies.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await roles[role]?.kill();
  await Promise.all(kills);
  // The collector resumes from its cursor on the same data dir; the others from Kafka offsets.
  roles[role] = await startRole(role, env, roles[role]?.dataDir);
}

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  await startPipeline(env, roles);
}, 180_000);

afterAll(async () => {
  // A failed case may leave a service stopped: start it again for the next suite.
  service('kafka', 'start');
  service('elasticsearch', 'start');
  await removeContainers(docker, PREFIX);
  for (const role of Object.values(roles)) await role?.stop();
}, 600_000);

describe('a role killed with SIGKILL mid-stream and restarted loses nothing and doubles nothing', () => {
  it.each(['collector', 'classifier', 'api'] as const)('the %s', async (role) => {
    const containers = names(`${role}-kill`, 3);
    await killMidStream(role, containers);
    await expectOneOomEach(api(), containers, { host: 'host-a' });
  });
});

describe('a backend down for a while loses nothing and doubles nothing', () => {
  it('the Kafka broker stopped for 30 s while containers die', async () => {
    const [before] = names('kafka-before', 1);
    await oomKill(docker, before as string);
    service('kafka', 'stop');
    const stoppedAt = Date.now();
    const during = names('kafka-down', 2);
    for (const name of during) await oomKill(docker, name);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 30_000 - (Date.now() - stoppedAt))));
    service('kafka', 'start');
    await expectOneOomEach(api(), [before as string, ...during], { host: 'host-a', timeoutMs: 180_000 });
  });

  it('Elasticsearch stopped for 60 s while containers die', async () => {
    service('elasticsearch', 'stop');
    const stoppedAt = Date.now();
    const during = names('es-down', 2);
    for (const name of during) await oomKill(docker, name);
    // The API answers meanwhile and, from its next background check on, says what is wrong.
    const health = await waitFor(
      async () => {
        const res = await fetch(`${api()}/healthz`);
        return res.status === 503 ? JSON.stringify(await res.json()) : undefined;
      },
      30_000,
      '/healthz to report Elasticsearch down',
      500,
    );
    expect(health).toMatch(/"elasticsearch":\{"ok":false/);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 60_000 - (Date.now() - stoppedAt))));
    service('elasticsearch', 'start');
    await expectOneOomEach(api(), during, { host: 'host-a', timeoutMs: 180_000 });
  });
});

describe("the collector's buffer on a full disk", () => {
  it('is reported, and once space is back every OOM kill is filed exactly once', async () => {
    const disk = mountSmallDisk(32);
    const usual = roles.collector?.dataDir;
    const [before] = names('buffer-before', 1) as [string];
    const during = names('buffer-full', 2);
    try {
      await roles.collector?.stop();
      roles.collector = await startRole('collector', env, path.join(disk.dir, 'data'));
      await oomKill(docker, before);
      await waitFor(async () => (await incidentsOf(api(), { container: before }))[0], 90_000, 'the incident before the disk filled up');
      expect(disk.fill()).toBeGreaterThan(0);
      for (const name of during) await oomKill(docker, name);
      await waitFor(async () => (saysDiskFull(roles.collector?.output() ?? '') ? true : undefined), 60_000, 'a log line saying the disk is full');
      expect(roles.collector.child.exitCode, 'the collector keeps running on a full disk').toBeNull();
      disk.free();
      await expectOneOomEach(api(), [before, ...during], { host: 'host-a', timeoutMs: 120_000 });
      expect(roles.collector.child.exitCode).toBeNull();
    } finally {
      await roles.collector?.stop();
      disk.unmount();
      // Back on its usual data dir: it replays what it read meanwhile, which must double nothing.
      roles.collector = await startRole('collector', env, usual);
    }
    await expectOneOomEach(api(), [before, ...during], { host: 'host-a' });
  });
});

describe('bad records on every topic are dead-lettered with a reason, nothing else is lost', () => {
  it('garbage, truncated and oversized records on the events and incidents topics', async () => {
    const valid = (message: string): CollectorRecord => ({
      type: 'event',
      event: { v: RECORD_VERSION, id: `test:${message}`, host: 'host-a', kind: 'kernel', source: 'kmsg', ts: Date.now(), message, kernel: { level: 3 } },
    });
    const truncated = JSON.stringify(valid('truncated on the way')).slice(0, 60);
    // Within Kafka's 1 MB message limit, far past the record schema's 16 KiB message.
    const oversized = JSON.stringify(valid(`INFO: task fp-oversized:1 blocked for more than 120 seconds. ${'x'.repeat(200_000)}`));
    const bad = [
      { kind: 'garbage', value: '\u0000\u00ff garbage, not JSON' },
      { kind: 'truncated', value: truncated },
      { kind: 'oversized', value: oversized },
      { kind: 'wrong shape', value: JSON.stringify({ type: 'event', event: { v: 99 } }) },
    ];
    const partitions = [0, 1, 2];
    const hungTask = 'INFO: task fp-dead-letter-check:4242 blocked for more than 120 seconds.';
    for (const topic of [topics.events, topics.incidents]) {
      await produceRaw(
        topic,
        partitions.flatMap((partition) => bad.map(({ kind, value }) => ({ partition, key: `bad/${kind}`, value }))),
      );
    }
    // Valid records after the bad ones, on the same topics: a real OOM kill and a kernel line.
    await produceRaw(topics.events, [{ key: 'host-a/', value: JSON.stringify(valid(hungTask)) }]);
    const [oom] = names('after-garbage', 1);
    await oomKill(docker, oom as string);

    await expectOneOomEach(api(), [oom as string], { host: 'host-a' });
    await waitFor(async () => (await incidentsOf(api(), { kb: 'hung-task', q: 'fp-dead-letter-check' }))[0], 60_000, 'the hung-task incident of the valid record');

    const expected = 2 * partitions.length * bad.length;
    const dead = await waitFor(
      async () => {
        const records = await readTopic(topics.deadLetter);
        return records.length >= expected ? records : undefined;
      },
      60_000,
      `${expected} records on the dead-letter topic`,
      1000,
    );
    expect(dead).toHaveLength(expected);
    for (const record of dead) {
      expect(record.headers[DEAD_LETTER_REASON_HEADER], record.key).toMatch(/\S/);
      expect(record.headers['fineprint-origin']).toMatch(new RegExp(`^(${topics.events}|${topics.incidents})/\\d/\\d+$`));
    }
    // Each kind, once per partition of each topic, with a reason that says what is wrong.
    for (const { kind } of bad) expect(dead.filter((r) => r.key === `bad/${kind}`), kind).toHaveLength(2 * partitions.length);
    expect(dead.find((r) => r.key === 'bad/garbage')?.headers[DEAD_LETTER_REASON_HEADER]).toMatch(/not JSON/);
    expect(dead.find((r) => r.key === 'bad/oversized')?.headers[DEAD_LETTER_REASON_HEADER]).toMatch(/message|too (big|long)|16384/i);
    // Kept as they were, byte for byte.
    expect(dead.find((r) => r.key === 'bad/oversized')?.value.toString('utf8')).toBe(oversized);
  });
});

describe('notifications survive the loss of the API replica that delivers them', () => {
  it('the lease holder killed with SIGKILL while an OOM kill waits out its group_wait: the webhook gets it exactly once', async () => {
    const SECRET = 'fault-test-webhook-secret-0123';
    const hook = await startReceiver('webhook', { secret: SECRET });
    const config = path.join(roles.api?.dataDir ?? '', 'notify.json');
    // One group per container: incidents of earlier cases, caught up at the first lease, go to groups of their own.
    writeFileSync(
      config,
      JSON.stringify({
        receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, timeout: '1s' }],
        routes: [{ receivers: ['hook'], kb: 'oom-kill', group_by: ['container'], group_wait: '4s' }],
      }),
    );
    const notifying = { ...env, FINEPRINT_NOTIFY_CONFIG: config, FINEPRINT_NOTIFY_LEASE: '2s', FINEPRINT_NOTIFY_POLL: '200ms' };
    const replicas = await Promise.all([startRole('api', notifying), startRole('api', notifying)]);
    try {
      const holds = async (r: RunningFineprint) => /^fineprint_notifier_lease_held 1$/m.test(await (await fetch(`${r.url}/metrics`)).text());
      const holder = await waitFor(async () => (await Promise.all(replicas.map(holds))).map((held, i) => (held ? replicas[i] : undefined)).find(Boolean), 30_000, 'a replica to take the notification lease');
      const survivor = replicas.find((r) => r !== holder) as RunningFineprint;

      const [name] = names('lease-holder-kill', 1) as [string];
      await oomKill(docker, name);
      const incident = await waitFor(async () => (await incidentsOf(survivor.url, { container: name, kb: 'oom-kill' }))[0], 60_000, `the oom-kill incident of ${name}`, 100);
      // The holder has it in a group (its poll), in Elasticsearch, waiting out group_wait.
      const members = `${env.FINEPRINT_ELASTICSEARCH_URL}/${env.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX}-notify/_search?q=kind:member%20AND%20incident:${encodeURIComponent(`"${incident.id}"`)}`;
      await waitFor(async () => (((await (await fetch(members)).json()) as { hits: { hits: unknown[] } }).hits.hits.length > 0 ? true : undefined), 10_000, 'the incident grouped by the lease holder', 50);
      const forIncident = () => hook.accepted().filter((a) => (a.json as { incidents: Array<{ id: string }> }).incidents.some((i) => i.id === incident.id));
      expect(forIncident(), 'nothing sent before group_wait ran out').toEqual([]);
      await holder.kill();
      const killedAt = Date.now();

      const [arrival] = await waitFor(async () => (forIncident().length > 0 ? forIncident() : undefined), 30_000, 'the notification from the replica that took over', 50);
      process.stdout.write(`notification of ${name} arrived ${arrival!.at - killedAt} ms after the lease holder was killed (lease 2 s, group_wait 4 s)\n`);
      expect(arrival!.problems).toEqual([]);
      expect(arrival!.json).toMatchObject({ event: 'trigger', incidents: [{ id: incident.id, container: { name } }] });
      // Settled: the survivor recorded it as sent, and nothing else is queued for it.
      const deliveries = await waitFor(
        async () => {
          const { notifications } = (await incidentDetail(survivor.url, incident.id)) as unknown as { notifications: Array<{ state: string; event: string }> };
          return notifications.length > 0 && notifications.every((n) => n.state !== 'pending') ? notifications : undefined;
        },
        10_000,
        'the delivery recorded as sent',
      );
      expect(deliveries.map((d) => [d.event, d.state])).toEqual([['trigger', 'sent']]);
      expect(forIncident()).toHaveLength(1);
    } finally {
      for (const replica of replicas) await replica.stop();
      await hook.close();
    }
  });
});
