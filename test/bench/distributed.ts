// Distributed figures on the real broker and Elasticsearch, with the real collector, classifier and
// API processes:
// - alert latency: OOM kills -> incident searchable through the API and notification received
//   (see oom-latency.ts);
// - sustained pipeline throughput: N synthetic events written into the collector's on-disk buffer
//   (the path every source's events take), forwarded by the collector to Kafka, classified by the
//   classifier, and the matching ones filed by the API into Elasticsearch. Zero loss is checked by
//   counting at the classifier (records classified) and in the store (occurrences filed). Baseline:
//   the same records, same partitions and batch size, produced to and consumed from Kafka by bare
//   kafkajs clients (the transport alone).
//
// Every wait is bounded: a stalled stage ends the measurement with what arrived, never a hang.
import { Client } from '@elastic/elasticsearch';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { EmbeddedQueue } from '../../shared/embedded-queue.js';
import { RECORD_VERSION, type CollectorRecord } from '../../shared/event.js';
import { openDatabase } from '../../shared/sqlite.js';
import { deleteElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { testDocker } from '../support/docker.js';
import { api, REPO_ROOT, startRole, type RunningFineprint } from '../support/fineprint.js';
import { distributedEnv } from '../support/services.js';
import { cpuTicks, TICKS_PER_SECOND } from './footprint.js';
import { oomLatency, type NotificationLeg, type OomLatencyResult } from './oom-latency.js';

/** One event in this many is a KB match (disk-full), spread over MATCHING_CONTAINERS containers. */
const MATCH_EVERY = 10;
const MATCHING_CONTAINERS = 100;
/** Events are this far apart in event time: a container's matches are distinct occurrences (merge window 60 s). */
const EVENT_SPACING_MS = 1000;
/** As the collector's forwarder: records per Kafka request. */
const KAFKA_BATCH = 500;

export interface PipelineResult {
  events: number;
  /** End to end: records flowing (first one classified) -> last occurrence filed in the store. */
  eventsPerSecond: number;
  /** Bare kafkajs produce + consume of the same records. */
  baselinePerSecond: number;
  /** Events the classifier did not classify, plus matching events missing from the store. */
  lost: number;
  /** Seconds until the classifier had classified every event. */
  classifiedAfterS: number;
  stalled: boolean;
  /** 1-minute load average of the machine at the start and the end of the measurement. */
  loadAverage: string;
}

export interface DistributedResult {
  latency?: OomLatencyResult;
  pipeline?: PipelineResult;
}

async function metricSum(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.split(' ').at(-1));
  return total;
}

function syntheticRecords(run: string, host: string, count: number): CollectorRecord[] {
  const start = Date.now() - count * EVENT_SPACING_MS - 3_600_000;
  const benign = [
    (i: number) => `GET /api/items/${i} HTTP/1.1 200 ${i % 9000} "-" "curl/8.5.0"`,
    (i: number) => `{"level":"info","msg":"request completed","route":"/orders/${i}","duration_ms":${i % 300}}`,
    (i: number) => `LOG:  checkpoint complete: wrote ${i % 500} buffers (0.${i % 9}%); 0 WAL file(s) added`,
  ];
  const records: CollectorRecord[] = [];
  for (let i = 0; i < count; i += 1) {
    const matching = i % MATCH_EVERY === 0;
    const c = matching ? (i / MATCH_EVERY) % MATCHING_CONTAINERS : i % MATCHING_CONTAINERS;
    records.push({
      type: 'event',
      event: {
        v: RECORD_VERSION,
        id: `bench:${run}:${i}`,
        host,
        kind: 'log',
        source: 'container-logs',
        ts: start + i * EVENT_SPACING_MS,
        message: matching ? `dd: error writing '/data/x${i}': No space left on device` : (benign[i % benign.length] as (n: number) => string)(i),
        container: { id: c.toString(16).padStart(64, 'b'), name: `bench-${c}`, image: 'busybox' },
        log: { stream: 'stdout' },
      },
    });
  }
  return records;
}

/** The transport alone: the same records through bare kafkajs clients, in the collector's batch size. */
async function kafkaBaseline(brokers: string[], topic: string, partitions: number, records: CollectorRecord[], timeoutMs: number): Promise<number> {
  const kafka = new Kafka({ clientId: 'fineprint-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 100 });
  try {
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let received = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) JSON.parse(message.value?.toString('utf8') ?? 'null');
        received += batch.messages.length;
        if (received >= records.length) done();
      },
    });
    const started = Date.now();
    for (let i = 0; i < records.length; i += KAFKA_BATCH) {
      const messages = records.slice(i, i + KAFKA_BATCH).map((r) => ({ key: r.type === 'event' ? (r.event.container?.id ?? r.event.host) : r.type === 'facts' ? r.facts.id : r.type === 'lastWords' ? r.lastWords.container.id : r.risks.host, value: JSON.stringify(r) }));
      await producer.send({ topic, acks: -1, messages });
    }
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs).unref())]);
    if (timedOut) process.stderr.write(`kafka baseline: ${received}/${records.length} consumed before the deadline\n`);
    return (received / (Date.now() - started)) * 1000;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** Sum of the occurrences filed for the bench's host and the disk-full entry, through the API. */
async function storedOccurrences(apiUrl: string, host: string): Promise<number> {
  const page = await api<{ incidents: { count: number; container: { name: string } | null }[] }>(apiUrl, `/api/v1/incidents?host=${host}&kb=disk-full&limit=500`);
  // Only the synthetic containers: the host probe may file a disk-full of its own.
  return page.incidents.reduce((sum, i) => sum + (i.container?.name.startsWith('bench-') ? i.count : 0), 0);
}

/** The pid of a real service started by scripts/services/<name>.sh (from its pidfile), if running. */
function servicePid(name: 'kafka' | 'elasticsearch'): number | undefined {
  const file = name === 'kafka' ? join('kafka', 'kafka.pid') : join('elasticsearch', 'run', 'elasticsearch.pid');
  try {
    const pid = Number(readFileSync(join(REPO_ROOT, '.cache', file), 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function pipelineThroughput(run: string, roles: { api: RunningFineprint; classifier: RunningFineprint; collector: RunningFineprint }, env: Record<string, string>, events: number): Promise<PipelineResult> {
  const host = env.FINEPRINT_HOST_NAME as string;
  const records = syntheticRecords(run, host, events);
  const matching = Math.ceil(events / MATCH_EVERY);
  const brokers = (env.FINEPRINT_KAFKA_BROKERS ?? '').split(',');
  const deadlineMs = 120_000 + events; // 1 ms an event beyond two minutes: 20x slower than the target.

  const loadAtStart = loadavg()[0] as number;
  const baselinePerSecond = await kafkaBaseline(brokers, `${env.FINEPRINT_KAFKA_TOPIC_PREFIX}.baseline`, Number(env.FINEPRINT_KAFKA_PARTITIONS), records, deadlineMs);
  process.stderr.write(`kafka baseline: ${Math.round(baselinePerSecond)} events/s\n`);

  // What the collector's own sources produced so far is classified too: count it in.
  const classifiedBefore = await metricSum(roles.classifier.url, 'fineprint_records_classified_total');
  const receivedBefore = await metricSum(roles.collector.url, 'fineprint_events_received_total');
  const db = openDatabase(join(roles.collector.dataDir, 'collector.db'));
  // Who spends the CPU (the machine has two cores for everything): sampled over the whole run.
  const pids = { collector: roles.collector.child.pid, classifier: roles.classifier.child.pid, api: roles.api.child.pid, kafka: servicePid('kafka'), elasticsearch: servicePid('elasticsearch') };
  const ticksBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid ? cpuTicks(pid) : 0]));
  const started = Date.now();
  const sink = new EmbeddedQueue(db, { retentionMs: 0 }).sink();
  for (let i = 0; i < records.length; i += 5000) await sink.send(records.slice(i, i + 5000));
  const lastOffset = db.prepare<[], { offset: number }>('SELECT MAX(offset) AS offset FROM queue').get()?.offset ?? 0;
  const forwarded = db.prepare<[], { offset: number }>(`SELECT offset FROM queue_offsets WHERE consumer = 'kafka'`);
  process.stderr.write(`pipeline: ${events} events in the collector's buffer after ${Date.now() - started} ms\n`);

  // The forwarder polls its buffer every second when idle (in production the sources wake it at
  // once): throughput counts from the moment records flow, i.e. the classifier's first count.
  let flowingAt = 0;
  let forwardedAt = 0;
  let classifiedAt = 0;
  let mine = 0;
  let stored = 0;
  let lastProgress = Date.now();
  let stalled = false;
  for (;;) {
    try {
      const received = (await metricSum(roles.collector.url, 'fineprint_events_received_total')) - receivedBefore;
      const classified = (await metricSum(roles.classifier.url, 'fineprint_records_classified_total')) - classifiedBefore;
      const now = Math.min(events, classified - received);
      const filed = await storedOccurrences(roles.api.url, host);
      if (now > mine || filed > stored) lastProgress = Date.now();
      if (now > 0 && flowingAt === 0) flowingAt = Date.now();
      mine = Math.max(mine, now);
      stored = filed;
    } catch (error) {
      // A service restarted by someone else on this shared machine: no progress, keep counting.
      process.stderr.write(`pipeline: polling failed (${(error as Error).message.slice(0, 120)})\n`);
    }
    if (forwardedAt === 0 && (forwarded.get()?.offset ?? 0) >= lastOffset) forwardedAt = Date.now();
    if (mine >= events && classifiedAt === 0) classifiedAt = Date.now();
    if (mine >= events && stored >= matching) break;
    // No progress for a minute, or far past the target time: report what arrived.
    if (Date.now() - lastProgress > 60_000 || Date.now() - started > deadlineMs) {
      stalled = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const elapsed = Date.now() - started;
  db.close();
  const cpu = Object.entries(pids)
    .map(([name, pid]) => `${name} ${pid ? Math.round(((cpuTicks(pid) - (ticksBefore[name] ?? 0)) / TICKS_PER_SECOND / (elapsed / 1000)) * 100) : '?'}%`)
    .join(', ');
  const at = (t: number) => (t ? `${((t - started) / 1000).toFixed(1)} s` : 'never');
  const flowing = Date.now() - (flowingAt || started);
  process.stderr.write(
    `pipeline: ${mine}/${events} classified, ${stored}/${matching} occurrences filed, ${elapsed} ms${stalled ? ' (stalled)' : ''}; ` +
      `flowing at ${at(flowingAt)}, forwarded to Kafka at ${at(forwardedAt)}, classified at ${at(classifiedAt)}, filed at ${at(stalled ? 0 : Date.now())}; CPU of a core: ${cpu}\n`,
  );
  return {
    events,
    eventsPerSecond: (Math.min(mine, events) / flowing) * 1000,
    baselinePerSecond,
    lost: Math.max(0, events - mine) + Math.max(0, matching - stored),
    classifiedAfterS: classifiedAt ? (classifiedAt - started) / 1000 : NaN,
    stalled,
    loadAverage: `${loadAtStart.toFixed(1)} -> ${(loadavg()[0] as number).toFixed(1)}`,
  };
}

export async function distributedFigures(options: { kills: number; events: number; notifications?: NotificationLeg }): Promise<DistributedResult> {
  const env: Record<string, string> = {
    ...distributedEnv(`bench-${process.pid}`),
    FINEPRINT_PROBE_INTERVAL: '60',
    ...options.notifications?.env,
  };
  const run = (env.FINEPRINT_KAFKA_TOPIC_PREFIX as string).replace(/^fineprint-/, '');
  const roles: RunningFineprint[] = [];
  const result: DistributedResult = {};
  try {
    const apiRole = await startRole('api', env);
    roles.push(apiRole);
    const classifier = await startRole('classifier', env);
    roles.push(classifier);
    const collector = await startRole('collector', env);
    roles.push(collector);
    if (options.kills > 0) result.latency = await oomLatency(testDocker(), apiRole.url, options.kills, 'distributed', options.notifications);
    if (options.events > 0) result.pipeline = await pipelineThroughput(run, { api: apiRole, classifier, collector }, env, options.events);
    return result;
  } finally {
    for (const role of roles.reverse()) {
      await role.stop();
      rmSync(role.dataDir, { recursive: true, force: true });
    }
    await deleteRunState(env);
  }
}

/** The run's topics and indices: a shared broker and cluster must not fill up with bench runs. */
export async function deleteRunState(env: Record<string, string>): Promise<void> {
  const prefix = env.FINEPRINT_KAFKA_TOPIC_PREFIX as string;
  const kafka = new Kafka({ clientId: 'fineprint-bench', brokers: (env.FINEPRINT_KAFKA_BROKERS ?? '').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } catch (error) {
    process.stderr.write(`could not delete the bench topics: ${(error as Error).message}\n`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  // The footprint figure runs a collector alone: no cluster, no indices.
  if (!env.FINEPRINT_ELASTICSEARCH_URL) return;
  const client = new Client({ node: env.FINEPRINT_ELASTICSEARCH_URL });
  try {
    await deleteElasticsearchStore(client, env.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX as string);
  } catch (error) {
    process.stderr.write(`could not delete the bench indices: ${(error as Error).message}\n`);
  } finally {
    await client.close();
  }
}
