// Rejoin after a crash: a classifier is SIGKILLed (no LeaveGroup reaches the broker), a new one is
// started at once, and the figure is the time from the kill until the new one has consumed a record
// written after the kill (its offset committed by the group). The dead member holds its partitions
// until its session expires, so the figure is about the session timeout plus the start-up; measured
// with the configured session and with the 30 s one every consumer used before it was configurable.
import { rmSync } from 'node:fs';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { RECORD_VERSION, type CollectorRecord } from '../../shared/event.js';
import { topicNames } from '../../shared/kafka/topics.js';
import { Duration } from '../../shared/kb/schema.js';
import { startRole, type RunningFineprint } from '../support/fineprint.js';
import { distributedEnv } from '../support/services.js';
import { deleteRunState } from './distributed.js';

export interface RejoinResult {
  /** Session timeout of the run, in ms. */
  sessionTimeoutMs: number;
  /** SIGKILL -> a fresh record consumed by the restarted classifier, one per sample, in ms. */
  samples: number[];
  median: number;
}

const CONSUMED_TIMEOUT_MS = 180_000;

/** A record the classifier accepts (an ordinary log line), written to the events topic. */
async function writeFreshRecord(producer: Producer, topic: string, host: string, n: number): Promise<{ partition: number; offset: bigint }> {
  const record: CollectorRecord = {
    type: 'event',
    event: { v: RECORD_VERSION, id: `rejoin:${Date.now()}:${n}`, host, kind: 'log', source: 'container-logs', ts: Date.now(), message: `rejoin probe ${n}`, log: { stream: 'stdout' } },
  };
  const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: host, value: JSON.stringify(record) }] });
  if (!meta?.baseOffset) throw new Error('the broker did not return the offset of the probe record');
  return { partition: meta.partition, offset: BigInt(meta.baseOffset) };
}

/** Waits until `groupId` has committed past `record` on its partition; returns when, in ms since the epoch. */
async function consumedAt(admin: Admin, groupId: string, topic: string, record: { partition: number; offset: bigint }): Promise<number> {
  const deadline = Date.now() + CONSUMED_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets?.partitions.find((p) => p.partition === record.partition)?.offset ?? '-1';
    if (BigInt(committed) > record.offset) return Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the classifier group did not consume ${topic}/${record.partition}/${record.offset} within ${CONSUMED_TIMEOUT_MS / 1000} s`);
}

/** SIGKILL -> consuming again, `samples` times, with FINEPRINT_KAFKA_SESSION_TIMEOUT = `session`. */
export async function rejoinAfterKill(session: string, samples: number): Promise<RejoinResult> {
  const env: Record<string, string> = { ...distributedEnv(`bench-rejoin-${process.pid}`), FINEPRINT_PROBE_INTERVAL: '60', FINEPRINT_KAFKA_SESSION_TIMEOUT: session };
  const prefix = env.FINEPRINT_KAFKA_TOPIC_PREFIX as string;
  const topic = topicNames(prefix).events;
  const groupId = `${prefix}-classifier`;
  const kafka = new Kafka({ clientId: 'fineprint-bench', brokers: (env.FINEPRINT_KAFKA_BROKERS ?? '').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  let classifier: RunningFineprint | undefined;
  const times: number[] = [];
  try {
    await Promise.all([admin.connect(), producer.connect()]);
    // The classifier creates the topics; the first record it consumes says it is in its group.
    classifier = await startRole('classifier', env);
    await consumedAt(admin, groupId, topic, await writeFreshRecord(producer, topic, env.FINEPRINT_HOST_NAME as string, 0));
    for (let n = 1; n <= samples; n += 1) {
      const dead = classifier;
      const killedAt = Date.now();
      await dead.kill();
      rmSync(dead.dataDir, { recursive: true, force: true });
      classifier = await startRole('classifier', env);
      const record = await writeFreshRecord(producer, topic, env.FINEPRINT_HOST_NAME as string, n);
      times.push((await consumedAt(admin, groupId, topic, record)) - killedAt);
      process.stderr.write(`rejoin (session ${session}): sample ${n}: ${times.at(-1)} ms\n`);
    }
  } finally {
    if (classifier) {
      await classifier.stop();
      rmSync(classifier.dataDir, { recursive: true, force: true });
    }
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await deleteRunState(env);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { sessionTimeoutMs: Duration.parse(session), samples: times, median: sorted[Math.floor(sorted.length / 2)] as number };
}
