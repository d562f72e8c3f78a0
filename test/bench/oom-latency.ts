// Alert latency: real OOM kills in real containers on the test dockerd, from the kill (the time
// Docker stamps on its `oom` event) to the incident being searchable through the REST API (polled
// every 10 ms) and to the signed webhook notification received by a local receiver (webhookLeg).
// Baseline, for the same kills: the `oom` event reaching a bare Docker events subscriber, i.e.
// what Docker itself takes to report the kill.
import type Docker from 'dockerode';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentsOf, startFineprint } from '../support/fineprint.js';
import { startReceiver } from '../support/receivers.js';
import { percentile } from './report.js';

const MB = 1024 * 1024;
/** A shell that needs 100 MB in a 32 MB container: killed by the memcg OOM killer within a second. */
const HOG = ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'];

/**
 * The "notification received" leg: the environment that points fineprint's notifier at a receiver
 * the bench runs, and when that receiver got the notification of a container's incident.
 */
export interface NotificationLeg {
  /** Settings for the fineprint process (e.g. FINEPRINT_NOTIFY_CONFIG naming the receiver). */
  env: Record<string, string>;
  /** Epoch ms at which the notification naming `container` arrived (waits for it). */
  receivedAt(container: string, timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A signed-webhook receiver on loopback, routed every oom-kill incident by a notification config
 * file as a user writes it (default grouping wait; rate limit raised so 50 kills are not queued).
 */
export async function webhookLeg(): Promise<NotificationLeg> {
  const secret = 'bench-webhook-secret-0123456789';
  const hook = await startReceiver('webhook', { secret });
  const dir = mkdtempSync(join(tmpdir(), 'fineprint-bench-notify-'));
  const file = join(dir, 'notify.json');
  writeFileSync(
    file,
    JSON.stringify({
      receivers: [{ name: 'bench', type: 'webhook', url: hook.url, secret, rate_limit: 10_000 }],
      routes: [{ receivers: ['bench'], kb: 'oom-kill', group_by: ['kb', 'container'] }],
    }),
  );
  const arrivedFor = (container: string) =>
    hook.accepted().find((a) => {
      const json = a.json as { event?: string; incidents?: { container?: { name?: string } | null }[] };
      return json.event === 'trigger' && json.incidents?.some((i) => i.container?.name === container);
    })?.at;
  return {
    env: { FINEPRINT_NOTIFY_CONFIG: file },
    receivedAt: (container, timeoutMs) => waitFor(async () => arrivedFor(container), timeoutMs, `the notification of ${container}`, 5),
    async close() {
      await hook.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Percentiles {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export interface OomLatencyResult {
  /** Kill -> incident searchable through the API, ms. */
  searchable: Percentiles;
  /** Kill -> notification received, ms (only with a notification leg). */
  notified?: Percentiles;
  /** Kill -> `oom` event at a bare Docker events subscriber, ms (the baseline). */
  dockerEvent: Percentiles;
}

function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { samples: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

/** Watches the daemon's `oom` events: when Docker stamped each one and when it arrived here. */
async function watchOomEvents(docker: Docker): Promise<{ seen: Map<string, { stamped: number; arrived: number }>; close(): void }> {
  const seen = new Map<string, { stamped: number; arrived: number }>();
  const stream = (await docker.getEvents({ filters: { type: ['container'], event: ['oom'] } })) as NodeJS.ReadableStream & { destroy(): void };
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    const arrived = Date.now();
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { timeNano?: number; Actor?: { Attributes?: { name?: string } } };
      // timeNano exceeds 2^53: microseconds are lost, milliseconds are not.
      const name = event.Actor?.Attributes?.name;
      if (name) seen.set(name, { stamped: Math.floor(Number(event.timeNano) / 1e6), arrived });
    }
  });
  return { seen, close: () => stream.destroy() };
}

/**
 * Provokes `kills` OOM kills one after another (each measured on an otherwise idle pipeline) and
 * times each against the API at `apiUrl`.
 */
export async function oomLatency(docker: Docker, apiUrl: string, kills: number, label: string, notifications?: NotificationLeg): Promise<OomLatencyResult> {
  const prefix = `fp-bench-oom-${label}-${process.pid}-`;
  await removeContainers(docker, prefix);
  const events = await watchOomEvents(docker);
  const searchable: number[] = [];
  const notified: number[] = [];
  const dockerEvent: number[] = [];
  try {
    for (let i = 0; i < kills; i += 1) {
      const name = `${prefix}${i}`;
      await runContainer(docker, { name, memory: 32 * MB, cmd: HOG });
      await waitFor(async () => (await incidentsOf(apiUrl, { container: name, kb: 'oom-kill' }))[0], 60_000, `the incident of ${name}`, 10);
      const stored = Date.now();
      const oom = await waitFor(async () => events.seen.get(name), 10_000, `the oom event of ${name}`, 10);
      searchable.push(stored - oom.stamped);
      dockerEvent.push(oom.arrived - oom.stamped);
      if (notifications) notified.push((await notifications.receivedAt(name, 60_000)) - oom.stamped);
      const told = notifications ? `, notified after ${notified.at(-1)} ms` : '';
      process.stderr.write(`${label} oom kill ${i + 1}/${kills}: searchable after ${searchable.at(-1)} ms${told} (docker event after ${dockerEvent.at(-1)} ms)\n`);
      // Removing as we go keeps the daemon's container list (and inspect calls) small.
      await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
    }
  } finally {
    events.close();
    await removeContainers(docker, prefix);
  }
  return {
    searchable: percentiles(searchable),
    dockerEvent: percentiles(dockerEvent),
    ...(notifications ? { notified: percentiles(notified) } : {}),
  };
}

/** All-in-one: `fineprint start` watching the test dockerd and /dev/kmsg. */
export async function allInOneOomLatency(kills: number, notifications?: NotificationLeg): Promise<OomLatencyResult> {
  const fp = await startFineprint({ FINEPRINT_PROBE_INTERVAL: '60', ...notifications?.env });
  try {
    return await oomLatency(testDocker(), fp.url, kills, 'all-in-one', notifications);
  } finally {
    await fp.stop();
    rmSync(fp.dataDir, { recursive: true, force: true });
  }
}
