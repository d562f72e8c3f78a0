// The figures docs/fleet.md sizes a fleet from, simulated on one machine: many collectors' worth of
// records (one host name each, a mix of container log lines, Docker events and kernel lines) produced
// into one Kafka topic the way the collector produces them, measured on the broker's disk; and
// incidents filed through the Elasticsearch store, measured in its indices once merged.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { RECORD_VERSION, type CollectorRecord } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { sendInOrder } from '../../shared/kafka/produce.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { deleteElasticsearchStore, openElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { REPO_ROOT } from '../support/fineprint.js';

export interface FleetRates {
  hosts: number;
  records: number;
  partitions: number;
  /** Records/s one producer process sent into the broker (acks from every in-sync replica). */
  producedPerSecond: number;
  /** Bytes of the topic's log segments per record, as the broker stores them. */
  kafkaBytesPerRecord: number;
  /** JSON bytes of a record's value, as the collector sends it. */
  valueBytesPerRecord: number;
  incidents: number;
  /** Bytes of the incidents indices per incident, once merged. */
  incidentBytes: number;
  /** Bytes of the evidence indices per piece of evidence, once merged. */
  evidenceBytes: number;
  /** Incidents filed per second through the store (apply, 33 incidents of 3 signals a batch). */
  filedPerSecond: number;
}

const CONTAINERS_PER_HOST = 20;

/** One host's records: 90% log lines, 8% Docker events, 2% kernel lines, spread over its containers. */
function hostRecords(host: string, count: number, start: number): CollectorRecord[] {
  const logs = [
    (i: number) => `GET /api/items/${i} HTTP/1.1 200 ${i % 9000} "-" "Mozilla/5.0 (X11; Linux x86_64)"`,
    (i: number) => `{"level":"info","msg":"request completed","route":"/orders/${i}","duration_ms":${i % 300},"trace":"${(i * 7919).toString(16)}"}`,
    (i: number) => `LOG:  checkpoint complete: wrote ${i % 500} buffers (0.${i % 9}%); 0 WAL file(s) added, 0 removed, 1 recycled`,
  ];
  return Array.from({ length: count }, (_, i): CollectorRecord => {
    const c = i % CONTAINERS_PER_HOST;
    const container = { id: `${host}-${c}`.padEnd(64, '0').slice(0, 64), name: `app-${c}`, image: `registry.example.com/shop/app-${c}:1.4.2` };
    const base = { v: RECORD_VERSION as typeof RECORD_VERSION, id: `${host}:${i}`, host, ts: start + i * 10 };
    if (i % 50 === 0) {
      return { type: 'event', event: { ...base, kind: 'kernel', source: 'kmsg', message: `IPv6: ADDRCONF(NETDEV_CHANGE): veth${i.toString(16)}: link becomes ready`, kernel: { seq: i, level: 6, facility: 0 } } };
    }
    if (i % 12 === 0) {
      const attributes = { name: container.name, image: container.image, 'com.docker.compose.project': 'shop', 'com.docker.compose.service': container.name, exitCode: '0' };
      return { type: 'event', event: { ...base, kind: 'docker', source: 'docker-events', message: `container die ${container.name} (exitCode=0)`, container, docker: { type: 'container', action: 'die', attributes }, exitCode: 0 } };
    }
    return { type: 'event', event: { ...base, kind: 'log', source: 'container-logs', message: (logs[i % logs.length] as (n: number) => string)(i), container, log: { stream: 'stdout' } } };
  });
}

/** Bytes of a topic's log segments in the broker's data dir (scripts/services/kafka.sh keeps it in .cache/kafka/data). */
function topicBytes(topic: string): number {
  const data = join(REPO_ROOT, '.cache', 'kafka', 'data');
  let bytes = 0;
  for (const dir of readdirSync(data).filter((d) => d.startsWith(`${topic}-`))) {
    for (const file of readdirSync(join(data, dir)).filter((f) => f.endsWith('.log'))) bytes += statSync(join(data, dir, file)).size;
  }
  return bytes;
}

async function kafkaRates(brokers: string[], hosts: number, perHost: number, partitions: number) {
  const kafka = new Kafka({ clientId: 'fineprint-bench-fleet', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const topic = `fineprint-bench-fleet-${Date.now()}`;
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    let valueBytes = 0;
    const start = Date.now() - 3_600_000;
    // Host after host, in the collector's batches (its buffer forwards up to 500 records a send).
    const batches: Message[][] = [];
    for (let h = 0; h < hosts; h += 1) {
      const host = `host-${String(h).padStart(5, '0')}`;
      const messages = hostRecords(host, perHost, start).map((r) => {
        const value = JSON.stringify(r);
        valueBytes += Buffer.byteLength(value);
        return { key: r.type === 'event' ? `${host}/${r.event.container?.id ?? ''}` : host, value };
      });
      for (let i = 0; i < messages.length; i += 500) batches.push(messages.slice(i, i + 500));
    }
    const started = process.hrtime.bigint();
    // Several collectors send at once: four sends in flight, as four hosts' forwarders would.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let b = next++; b < batches.length; b = next++) await sendInOrder(producer, topic, batches[b] as Message[]);
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const records = hosts * perHost;
    // The active segment is preallocated only on Windows; here its size is what was written.
    execFileSync('sync');
    return { topic, records, producedPerSecond: records / seconds, kafkaBytesPerRecord: topicBytes(topic) / records, valueBytesPerRecord: valueBytes / records };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** A typical incident: an OOM kill's three signals (Docker `oom`, the kernel's kill line, `die` 137). */
function oomIncident(n: number, ts: number): IncidentUpdate[] {
  const host = `host-${String(n % 1000).padStart(5, '0')}`;
  const name = `app-${n}`;
  const container = { id: `${n}`.padEnd(64, 'c'), name, image: `registry.example.com/shop/${name}:1.4.2` };
  const signal = (eventId: string, kind: 'docker' | 'kernel', source: string, message: string, dt: number, exitCode?: number): IncidentUpdate => ({
    op: 'signal',
    proposedId: `bench-${n}`,
    fingerprint: `oom-kill|${host}|ctr:${name}`,
    kbId: 'oom-kill',
    title: 'Container killed by the kernel OOM killer',
    severity: 'critical',
    host,
    container,
    compose: { project: 'shop', service: name },
    facts: null,
    evidence: { eventId: `${n}-${eventId}`, occurrenceId: `${n}-oom`, detector: `oom-kill/${eventId}`, ts: ts + dt, kind, source, message, ...(exitCode !== undefined ? { exitCode } : {}) },
  });
  return [
    signal('oom', 'docker', 'docker-events', `container oom ${name}`, 0),
    signal('kernel', 'kernel', 'kmsg', `Memory cgroup out of memory: Killed process ${4000 + n} (java) total-vm:2143568kB, anon-rss:262144kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:900kB oom_score_adj:0`, 3),
    signal('die', 'docker', 'docker-events', `container die ${name} (exitCode=137)`, 9, 137),
  ];
}

async function elasticsearchRates(url: string, incidents: number) {
  const kb = loadKnowledgeBase();
  const indexPrefix = `fineprint-bench-fleet-${Date.now()}`;
  const store = await openElasticsearchStore({ url, kb, indexPrefix });
  const admin = new Client({ node: url, requestTimeout: 120_000 });
  try {
    const ts = Date.now() - 86_400_000;
    const started = process.hrtime.bigint();
    for (let n = 0; n < incidents; n += 33) {
      await store.apply(Array.from({ length: Math.min(33, incidents - n) }, (_, i) => oomIncident(n + i, ts + (n + i) * 1000)).flat());
    }
    const filedPerSecond = incidents / (Number(process.hrtime.bigint() - started) / 1e9);
    await admin.indices.forcemerge({ index: `${indexPrefix}-incidents-*,${indexPrefix}-evidence-*`, max_num_segments: 1 });
    await admin.indices.refresh({ index: `${indexPrefix}-*` });
    const stats = await admin.indices.stats({ index: `${indexPrefix}-*`, metric: ['store', 'docs'] });
    let incidentBytes = 0;
    let evidenceBytes = 0;
    let evidenceDocs = 0;
    for (const [name, index] of Object.entries(stats.indices ?? {})) {
      const bytes = index.primaries?.store?.size_in_bytes ?? 0;
      if (name.includes('-incidents-')) incidentBytes += bytes;
      if (name.includes('-evidence-')) {
        evidenceBytes += bytes;
        evidenceDocs += index.primaries?.docs?.count ?? 0;
      }
    }
    return { incidents, incidentBytes: incidentBytes / incidents, evidenceBytes: evidenceBytes / Math.max(1, evidenceDocs), filedPerSecond };
  } finally {
    await store.close();
    await deleteElasticsearchStore(admin, indexPrefix);
    await admin.close();
  }
}

export async function fleetRates(options: { brokers: string[]; elasticsearchUrl: string; hosts: number; recordsPerHost: number; partitions: number; incidents: number }): Promise<FleetRates> {
  const kafka = await kafkaRates(options.brokers, options.hosts, options.recordsPerHost, options.partitions);
  process.stderr.write(`fleet: kafka ${JSON.stringify(kafka)}\n`);
  const es = await elasticsearchRates(options.elasticsearchUrl, options.incidents);
  return {
    hosts: options.hosts,
    records: kafka.records,
    partitions: options.partitions,
    producedPerSecond: kafka.producedPerSecond,
    kafkaBytesPerRecord: kafka.kafkaBytesPerRecord,
    valueBytesPerRecord: kafka.valueBytesPerRecord,
    ...es,
  };
}
