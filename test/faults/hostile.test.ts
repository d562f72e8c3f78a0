// A hostile host: containers with megabyte labels (every Docker event of theirs carries them),
// containers printing 1 MiB log lines of worst-case text for the redactor and the KB regexes, and a
// read-only client hammering search with long and many-word queries. Meanwhile an OOM kill in
// another container must be filed and notified within the all-in-one's normal latency, and
// /healthz must keep answering fast: hostile text must not stop fineprint.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oomLatency, webhookLeg, type NotificationLeg } from '../bench/oom-latency.js';
import { removeContainers, runContainer, TEST_IMAGE, testDocker, testDockerSocket, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, startFineprint, type RunningFineprint } from '../support/fineprint.js';

const docker = testDocker();
const PREFIX = `fp-faults-hostile-${process.pid}-`;
const MIB = 1024 * 1024;
const READ_TOKEN = `read-${randomBytes(12).toString('hex')}`;
/** The all-in-one's alert target (kill -> notification, p99), as `npm run bench` holds it. */
const ALERT_TARGET_MS = 1000;
/**
 * /healthz while the host is hostile: 99 in 100 answers within P99, none slower than WORST. The goal
 * is every answer under 100 ms, which 2 cores under this load cannot give even to a server that does
 * nothing: the test polls such a bare server alike and prints its figures beside fineprint's.
 */
const HEALTH_P99_MS = 250;
const HEALTH_WORST_MS = 500;
/** 1 MiB lines each hostile container has sent through the pipeline before the OOM kill. */
const HOSTILE_LINES_BEFORE_KILL = 10;

/**
 * Containers printing, twice a second, one 1 MiB line: a line a detector files (so the line is known
 * to have gone through the whole pipeline), then worst-case text for the redactor (`password`,
 * `Bearer ` repeated) or for a KB regex (a digit run after `Cannot fork`, the start of a detector
 * repeated). Built in the container with busybox `yes | tr | head`.
 */
const HOSTILE_LINES = [
  { name: 'password', kbId: 'upstream-unavailable', head: 'no live upstreams while connecting to upstream, password=', unit: 'password' },
  { name: 'bearer', kbId: 'port-conflict', head: 'listen tcp :8080: bind: address already in use Authorization: ', unit: 'Bearer ' },
  { name: 'digits', kbId: 'disk-full', head: 'write /data/x: No space left on device; sh: Cannot fork ', unit: '1' },
  { name: 'repeated-start', kbId: 'iptables-rules-flushed', head: 'iptables failed: iptables: No chain/target/match by that name. ', unit: 'iptables failed: ' },
] as const;

const hostileLog = (head: string, unit: string): string[] => [
  'sh',
  '-c',
  `while true; do printf '%s' '${head}'; yes '${unit}' | tr -d '\\n' | head -c ${MIB}; echo; sleep 0.5; done`,
];

/** Two labels of 1 MiB each (the daemon took one label of 64 MiB when this was written). */
const MEGABYTE_LABELS = { 'hostile.password': 'password='.repeat(MIB / 9), 'hostile.bearer': 'Bearer '.repeat(MIB / 7) };

/**
 * Creates and starts a crash-looping container with megabyte labels, through the Engine API
 * directly: dockerode also puts the create options in the query string, which the daemon refuses
 * (431) past 1 MiB.
 */
async function runWithLabels(name: string, labels: Record<string, string>): Promise<void> {
  const body = JSON.stringify({
    Image: TEST_IMAGE,
    Cmd: ['sh', '-c', 'exit 3'],
    Labels: { 'fineprint.test': '1', ...labels },
    HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 4 } },
  });
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      { socketPath: testDockerSocket(), path: `/containers/create?name=${encodeURIComponent(name)}`, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  if (status !== 201) throw new Error(`creating ${name} with megabyte labels: ${status} ${text}`);
  await docker.getContainer((JSON.parse(text) as { Id: string }).Id).start();
}

/** Long, repetitive and many-word searches, as a read-only client may send them. */
const HOSTILE_QUERIES = [
  'password '.repeat(55),
  Array.from({ length: 80 }, (_, i) => `term${i}`).join(' '),
  'Bearer '.repeat(70),
  '1'.repeat(500),
  Array.from({ length: 60 }, (_, i) => `"pass${i}*`).join(' '),
  'iptables failed: '.repeat(29),
];

interface Poller {
  stop(): Promise<void>;
}

/** Calls `once` back to back (a pause of `pauseMs` between calls) until stopped or `limit` calls. */
function loop(once: () => Promise<void>, pauseMs: number, limit: number): Poller {
  let stopped = false;
  const done = (async () => {
    for (let n = 0; n < limit && !stopped; n += 1) {
      await once();
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/**
 * Polls /healthz every 50 ms from a process of its own, so that the test's own work (parsing search
 * answers, Docker calls) never delays a measurement. Its first request only warms the HTTP client up
 * (connection set-up and the client's own lazy loading) and is not counted.
 */
function pollHealth(url: string, into: { ms: number; status: number }[]): Poller {
  const script = `
    const url = process.argv[1];
    await fetch(url).then((res) => res.arrayBuffer()).catch(() => undefined);
    for (;;) {
      const started = performance.now();
      const status = await fetch(url, { signal: AbortSignal.timeout(30000) })
        .then(async (res) => (await res.arrayBuffer(), res.status))
        .catch(() => 0);
      process.stdout.write(JSON.stringify({ ms: performance.now() - started, status }) + '\\n');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line) into.push(JSON.parse(line) as { ms: number; status: number });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A Node HTTP server that answers every request at once, in a process of its own: polled like
 * fineprint, it shows what the machine's scheduling alone costs an answer meanwhile.
 */
async function startBareServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const script = `const server = require('node:http').createServer((_req, res) => res.end('{"status":"ok"}'));
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`the bare server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The answers' 99th percentile and slowest, in ms. */
function latencies(answers: readonly { ms: number }[]): { p99: number; slowest: number } {
  const times = answers.map((a) => a.ms).sort((a, b) => a - b);
  return { p99: times[Math.floor(times.length * 0.99)] ?? Infinity, slowest: times.at(-1) ?? Infinity };
}

let fp: RunningFineprint;
let leg: NotificationLeg;
/** Every /healthz answer from the start of the hostile load: time taken and status (0: no answer). */
const health: { ms: number; status: number }[] = [];
/** Every answer the search hammer got. */
const searches: { status: number; code?: string }[] = [];
/** Every answer of the bare server, polled alike over the same time. */
const bareHealth: { ms: number; status: number }[] = [];
let bare: Awaited<ReturnType<typeof startBareServer>> | undefined;
let healthPoller: Poller | undefined;
let barePoller: Poller | undefined;
let hammer: Poller | undefined;
const labelled = [0, 1].map((i) => `${PREFIX}labels-${i}`);

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  leg = await webhookLeg();
  fp = await startFineprint({ ...leg.env, FINEPRINT_READ_TOKENS: `viewer=${READ_TOKEN}`, FINEPRINT_PROBE_INTERVAL: '60' });
  bare = await startBareServer();
  healthPoller = pollHealth(`${fp.url}/healthz`, health);
  barePoller = pollHealth(`${bare.url}/healthz`, bareHealth);
  hammer = loop(
    async () => {
      const q = HOSTILE_QUERIES[searches.length % HOSTILE_QUERIES.length] as string;
      const res = await fetch(`${fp.url}/api/v1/incidents?${new URLSearchParams({ q, limit: '200' })}`, {
        headers: { authorization: `Bearer ${READ_TOKEN}` },
        signal: AbortSignal.timeout(30_000),
      }).catch(() => undefined);
      const body = (await res?.json().catch(() => ({}))) as { code?: string } | undefined;
      searches.push({ status: res?.status ?? 0, ...(body?.code ? { code: body.code } : {}) });
    },
    0,
    20_000,
  );
  for (const name of labelled) await runWithLabels(name, MEGABYTE_LABELS);
  for (const line of HOSTILE_LINES) await runContainer(docker, { name: `${PREFIX}${line.name}`, cmd: hostileLog(line.head, line.unit) });
}, 180_000);

afterAll(async () => {
  await Promise.all([healthPoller?.stop(), barePoller?.stop(), hammer?.stop()]);
  await bare?.stop();
  await removeContainers(docker, PREFIX);
  await fp?.stop();
  await leg?.close();
}, 120_000);

describe('a hostile host does not stop fineprint', () => {
  it('files and notifies an OOM kill in time, and /healthz stays fast, under 1 MiB worst-case lines, megabyte labels and a search hammer', async () => {
    // The hostile lines go through the whole pipeline: each container's incident gathers one piece
    // of evidence a line; the kill comes once each has sent HOSTILE_LINES_BEFORE_KILL of them.
    for (const line of HOSTILE_LINES) {
      const container = `${PREFIX}${line.name}`;
      await waitFor(
        async () => {
          const [incident] = await incidentsOf(fp.url, { container, kb: line.kbId });
          return incident && (await incidentDetail(fp.url, incident.id)).evidence.length >= HOSTILE_LINES_BEFORE_KILL ? incident : undefined;
        },
        120_000,
        `${HOSTILE_LINES_BEFORE_KILL} lines in the ${line.kbId} incident of ${container}`,
        500,
      );
    }
    // The kill elsewhere, while the hostile lines keep coming: from Docker's `oom` event to searchable and to notified.
    const kill = await oomLatency(docker, fp.url, 1, 'hostile', leg);
    await Promise.all([healthPoller?.stop(), barePoller?.stop(), hammer?.stop()]);

    const { p99, slowest } = latencies(health);
    const machine = latencies(bareHealth);
    process.stderr.write(
      `OOM kill: searchable after ${kill.searchable.max} ms, notified after ${kill.notified?.max} ms; ` +
        `/healthz: ${health.length} answers, p99 ${p99.toFixed(1)} ms, slowest ${slowest.toFixed(1)} ms ` +
        `(a bare server meanwhile: ${bareHealth.length} answers, p99 ${machine.p99.toFixed(1)} ms, slowest ${machine.slowest.toFixed(1)} ms); searches answered: ${searches.length}\n`,
    );
    expect.soft(kill.searchable.max, 'OOM kill -> incident searchable (ms)').toBeLessThan(ALERT_TARGET_MS);
    expect.soft(kill.notified?.max, 'OOM kill -> webhook notification received (ms)').toBeLessThan(ALERT_TARGET_MS);
    expect.soft(health.length).toBeGreaterThan(20);
    expect.soft(health.filter((h) => h.status !== 200), '/healthz answers other than 200').toEqual([]);
    expect.soft(p99, `p99 of ${health.length} /healthz answers (ms)`).toBeLessThan(HEALTH_P99_MS);
    expect.soft(slowest, `slowest /healthz answer of ${health.length} (ms)`).toBeLessThan(HEALTH_WORST_MS);
    // The hammer got answers, and only clear ones: results, a query refused as too complex, or a search cut at its budget.
    expect.soft(searches.length).toBeGreaterThan(20);
    const unclear = searches.filter((s) => !(s.status === 200 || (s.status === 400 && s.code !== undefined) || (s.status === 503 && s.code === 'FP_QUERY_TIMEOUT')));
    expect.soft(unclear, 'search answers other than 200, a 400 with its code, or 503 FP_QUERY_TIMEOUT').toEqual([]);
  });

  it('loses no event of a container with megabyte labels: its crash loop is filed', async () => {
    for (const container of labelled) {
      await waitFor(async () => (await incidentsOf(fp.url, { container, kb: 'crash-loop' }))[0], 60_000, `the crash-loop incident of ${container}`, 500);
    }
  });
});
