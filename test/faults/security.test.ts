// Security checks on real processes: every write route refuses missing, wrong and read-only
// tokens (routes read from the app's own OpenAPI document, so new ones are covered without a
// change here); no secret from a container's env, command line or log reaches any store, topic,
// log or notification, in both modes; the collectors make only read-only Docker API calls (they run
// behind a proxy that refuses anything else).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiConfig } from '../../services/api/config.js';
import { startDockerReadonlyProxy, type DockerReadonlyProxy } from '../support/docker-readonly-proxy.js';
import { removeContainers, runContainer, testDocker, testDockerSocket, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, startFineprint, startRole, tempDataDir, TEST_TOKEN, type RunningFineprint } from '../support/fineprint.js';
import { readTopic, topicsWithPrefix } from '../support/kafka.js';
import { ALLOCATE } from '../support/scenarios.js';
import { expectNoSecret as expectNoSecretIn, filesUnder, type Place } from '../support/leaks.js';
import { distributedEnv } from '../support/services.js';

const docker = testDocker();
const PREFIX = `fp-faults-sec-${process.pid}-`;
const MB = 1024 * 1024;
const READ_TOKEN = `read-${randomBytes(12).toString('hex')}`;
const unique = () => randomBytes(9).toString('hex');
/** Values that must never leave the host: one in the env, one in the command, one in a log line. */
const SECRETS = { env: `envSecret${unique()}`, argument: `argSecret${unique()}`, url: `urlSecret${unique()}` };
const container = `${PREFIX}leaky`;
const notifyWired = 'FINEPRINT_NOTIFY_CONFIG' in apiConfig;

const dist = distributedEnv('host-sec');
let proxy: DockerReadonlyProxy;
let hook: Server;
const notifications: string[] = [];
let allInOne: RunningFineprint;
const roles: RunningFineprint[] = [];
const distApi = () => roles[0]?.url ?? '';

const expectNoSecret = (places: Place[]) => expectNoSecretIn(places, SECRETS);

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  proxy = await startDockerReadonlyProxy(testDockerSocket());
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      notifications.push(`${JSON.stringify(req.headers)}\n${body}`);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const notifyConfig = path.join(tempDataDir('fp-notify-'), 'notify.json');
  writeFileSync(
    notifyConfig,
    JSON.stringify({
      receivers: [{ type: 'webhook', name: 'hook', url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, secret: 'webhook-signing-secret-0123456789' }],
      routes: [{ receivers: ['hook'] }],
    }),
  );
  const common = {
    DOCKER_HOST: proxy.dockerHost,
    FINEPRINT_READ_TOKENS: `viewer=${READ_TOKEN}`,
    // The most talkative level: a secret in any log line must show here.
    FINEPRINT_LOG_LEVEL: 'debug',
    ...(notifyWired ? { FINEPRINT_NOTIFY_CONFIG: notifyConfig } : {}),
  };
  allInOne = await startFineprint(common);
  roles.push(await startRole('api', { ...dist, ...common }));
  roles.push(await startRole('classifier', { ...dist, ...common }));
  roles.push(await startRole('collector', { ...dist, ...common }));

  // The secrets: an env value, a --password argument, URL credentials in a log line; then an OOM kill.
  await runContainer(docker, {
    name: container,
    memory: 32 * MB,
    env: [`AWS_SECRET_ACCESS_KEY=${SECRETS.env}`],
    cmd: ['sh', '-c', `echo "pg: could not extend file: No space left on device (postgres://app:${SECRETS.url}@db:5432/app)"; sleep 2; ${ALLOCATE[2]}`, 'worker', `--password=${SECRETS.argument}`],
  });
  for (const url of [allInOne.url, distApi()]) {
    for (const kb of ['oom-kill', 'disk-full']) {
      await waitFor(async () => (await incidentsOf(url, { container, kb }))[0], 90_000, `the ${kb} incident of ${container} at ${url}`, 250);
    }
  }
  if (notifyWired) await waitFor(async () => notifications[0], 60_000, 'a notification');
}, 600_000);

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  for (const role of [allInOne, ...roles]) await role?.stop();
  await proxy?.close();
  hook?.close();
}, 120_000);

describe('write routes refuse missing, wrong and read-only tokens', () => {
  it('every POST, PUT, PATCH and DELETE route of the API', async () => {
    const document = (await (await fetch(`${allInOne.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const [incident] = await incidentsOf(allInOne.url, { container });
    // Signing in and out of a browser session take no token by design (test/unit/api-session.test.ts
    // proves a wrong token gets no cookie); every other write needs the admin token.
    const writes = Object.entries(document.paths).filter(([route]) => route !== '/api/v1/session').flatMap(([route, operations]) =>
      Object.keys(operations)
        .filter((method) => ['post', 'put', 'patch', 'delete'].includes(method))
        .map((method) => ({ method: method.toUpperCase(), url: route.replace(/\{[^}]+\}/g, incident?.id ?? 'x') })),
    );
    // acknowledge, resolve and silences at least; any route added later is in the document too.
    expect(writes.length, 'write routes in /api/v1/openapi.json').toBeGreaterThanOrEqual(3);
    // The read token is a valid one: it may read.
    expect((await fetch(`${allInOne.url}/api/v1/incidents`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).status).toBe(200);

    for (const { method, url } of writes) {
      const call = async (authorization?: string) => {
        const res = await fetch(`${allInOne.url}${url}`, {
          method,
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          ...(method === 'DELETE' ? {} : { body: JSON.stringify({ comment: 'security check', matchers: { kb: 'oom-kill' }, duration: '1h' }) }),
        });
        return { status: res.status, code: ((await res.json().catch(() => ({}))) as { code?: string }).code };
      };
      expect(await call(), `${method} ${url} without a token`).toEqual({ status: 401, code: 'FP_UNAUTHORIZED' });
      expect(await call('Bearer not-the-token-0123456789abcdef'), `${method} ${url} with a wrong token`).toEqual({ status: 401, code: 'FP_UNAUTHORIZED' });
      expect(await call(`Basic ${Buffer.from(`admin:${TEST_TOKEN}`).toString('base64')}`), `${method} ${url} with the token as Basic auth`).toEqual({ status: 401, code: 'FP_UNAUTHORIZED' });
      expect(await call(`Bearer ${READ_TOKEN}`), `${method} ${url} with a read-only token`).toEqual({ status: 403, code: 'FP_FORBIDDEN' });
      // The admin token passes auth: what refused the others was auth, not a missing route.
      expect([401, 403, 404], `${method} ${url} with the admin token`).not.toContain((await call(`Bearer ${TEST_TOKEN}`)).status);
    }
  });
});

describe('no secret of a container leaves the host', () => {
  it('the incidents carry the container facts, redacted', async () => {
    for (const url of [allInOne.url, distApi()]) {
      for (const incident of await incidentsOf(url, { container })) {
        const detail = await incidentDetail(url, incident.id);
        expect(detail.facts?.env.some((e) => e.startsWith('AWS_SECRET_ACCESS_KEY')), 'the env name is kept').toBe(true);
        expect(detail.facts?.command.length).toBeGreaterThan(0);
        expectNoSecret([{ what: `${url} incident ${incident.kbId}`, text: JSON.stringify(detail) }]);
        // The log line was kept, its credentials redacted: not dropped, which would prove nothing.
        if (incident.kbId === 'disk-full') expect(detail.evidence.some((e) => e.message.includes('postgres://'))).toBe(true);
      }
    }
  });

  it('in no store: the SQLite files of the all-in-one and the collector buffer, Elasticsearch', async () => {
    const files = [...filesUnder(allInOne.dataDir), ...roles.flatMap((r) => filesUnder(r.dataDir))];
    // Not vacuous: the container was written there.
    expect(files.some((f) => f.text.includes('AWS_SECRET_ACCESS_KEY')), 'the container facts in the database files').toBe(true);
    expectNoSecret(files);

    const es = process.env.FINEPRINT_ELASTICSEARCH_URL;
    const index = `${dist.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX}*`;
    await fetch(`${es}/${index}/_refresh`, { method: 'POST' });
    const hits = (await (await fetch(`${es}/${index}/_search?size=10000`)).json()) as { hits: { hits: unknown[] } };
    expect(JSON.stringify(hits.hits.hits), 'the container facts in Elasticsearch').toContain('AWS_SECRET_ACCESS_KEY');
    expectNoSecret(hits.hits.hits.map((h, i) => ({ what: `Elasticsearch document ${i}`, text: JSON.stringify(h) })));
  });

  it('on no Kafka topic', async () => {
    const topics = await topicsWithPrefix(dist.FINEPRINT_KAFKA_TOPIC_PREFIX ?? '');
    expect(topics.length).toBeGreaterThanOrEqual(3);
    let facts = 0;
    for (const topic of topics) {
      const all = await readTopic(topic);
      facts += all.filter((r) => r.value.includes('AWS_SECRET_ACCESS_KEY')).length;
      expectNoSecret(all.map((r) => ({ what: `${topic}/${r.partition} ${r.key}`, text: `${r.key}\n${JSON.stringify(r.headers)}\n${r.value.toString('latin1')}` })));
    }
    expect(facts, 'records with the container facts on the topics').toBeGreaterThan(0);
  });

  it('in no log output and no notification', async () => {
    const logs = [allInOne, ...roles].map((p) => ({ what: `the log of ${p.dataDir}`, text: p.output() }));
    expect(logs.every((l) => l.text.length > 0)).toBe(true);
    expectNoSecret(logs);
    if (notifyWired) expect(notifications.length).toBeGreaterThan(0);
    expectNoSecret(notifications.map((text, i) => ({ what: `notification ${i}`, text })));
  });
});

describe('the collectors make only read-only Docker API calls', () => {
  it('through a proxy that refuses anything but GET and HEAD, they work and nothing was refused', () => {
    // They worked through it: the incidents above came through the proxy (events stream, inspect, logs).
    expect(proxy.forwarded.some((c) => c.url.includes('/events')), 'the events stream went through the proxy').toBe(true);
    expect(proxy.forwarded.some((c) => /\/containers\/[^/]+\/logs/.test(c.url)), 'container logs went through the proxy').toBe(true);
    expect(proxy.rejected).toEqual([]);
  });
});
