import type { Admin, Consumer } from 'kafkajs';
import { z } from 'zod';
import { loadConfig, type Environment } from '../../shared/config.js';
import { CollectorRecord } from '../../shared/event.js';
import { createKafka } from '../../shared/kafka/client.js';
import { elasticsearchConfig, kafkaConfig } from '../../shared/kafka/config.js';
import { consumeAtLeastOnce } from '../../shared/kafka/consume.js';
import { sendToDeadLetter } from '../../shared/kafka/dead-letter.js';
import { ensureTopics, topicNames } from '../../shared/kafka/topics.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { startStatusServer } from '../../shared/status-server.js';
import { openElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { classifierConfig } from './config.js';
import { compileKb, createClassifier, FactsCache } from './index.js';
import { sendIncidentUpdates } from './sinks/kafka.js';

export const classifierProcessConfig = {
  ...classifierConfig,
  ...kafkaConfig,
  /** Optional: lets a restarted classifier resume correlation from the incidents already filed. */
  FINEPRINT_ELASTICSEARCH_URL: elasticsearchConfig.FINEPRINT_ELASTICSEARCH_URL.optional(),
  FINEPRINT_ELASTICSEARCH_INDEX_PREFIX: elasticsearchConfig.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX,
  /** Consumer group of the classifiers (one group for the fleet; more members, more parallelism). Default <prefix>-classifier. */
  FINEPRINT_KAFKA_GROUP: z.string().min(1).optional(),
  FINEPRINT_STATUS_HOST: z.string().min(1).default('127.0.0.1'),
  FINEPRINT_STATUS_PORT: z.coerce.number().int().min(0).max(65_535).default(7779),
};

/**
 * Windows and sequences see a container's events in order on one classifier. Their state is rebuilt
 * from the event log: when partitions are assigned, each is read again from `spanMs` before its
 * committed offset. Re-read events only repeat updates the store already has (idempotent).
 */
async function rewindOnAssignment(consumer: Consumer, admin: Admin, groupId: string, topic: string, spanMs: number, log: Logger): Promise<void> {
  consumer.on(consumer.events.GROUP_JOIN, async ({ payload }) => {
    const partitions = payload.memberAssignment[topic] ?? [];
    if (partitions.length === 0 || spanMs === 0) return;
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() - spanMs);
      for (const partition of partitions) {
        const done = committed?.partitions.find((p) => p.partition === partition)?.offset;
        const since = byTime.find((p) => p.partition === partition)?.offset;
        if (done === undefined || since === undefined || Number(done) < 0) continue;
        if (BigInt(since) < BigInt(done)) consumer.seek({ topic, partition, offset: since });
      }
    } catch (error) {
      log.warn({ err: error }, 'Could not rewind for window state; windows start empty.');
    }
  });
}

export async function startClassifierProcess(env: Environment = process.env): Promise<{ stop(): Promise<void> }> {
  const config = loadConfig(classifierProcessConfig, env);
  const log = createLogger('fineprint-classifier', config.FINEPRINT_LOG_LEVEL);
  const kb = loadKnowledgeBase(config.FINEPRINT_KB_DIR);
  const compiled = compileKb(kb);
  const registry = new MetricsRegistry();
  const metrics = pipelineMetrics(registry);
  const store = config.FINEPRINT_ELASTICSEARCH_URL
    ? await openElasticsearchStore({ url: config.FINEPRINT_ELASTICSEARCH_URL, kb, indexPrefix: config.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX })
    : undefined;
  const classifier = createClassifier({
    kb: compiled,
    facts: new FactsCache(),
    ...(store ? { activeOccurrences: (since: number) => store.activeOccurrences(since) } : {}),
    metrics,
    log,
    mergeWithinMs: config.FINEPRINT_MERGE_WINDOW,
  });
  await classifier.restore();

  const topics = topicNames(config.FINEPRINT_KAFKA_TOPIC_PREFIX);
  // Deployments that share a broker under different prefixes must not share a group.
  const groupId = config.FINEPRINT_KAFKA_GROUP ?? `${config.FINEPRINT_KAFKA_TOPIC_PREFIX}-classifier`;
  const kafka = createKafka(config.FINEPRINT_KAFKA_BROKERS, 'fineprint-classifier', log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, { partitions: config.FINEPRINT_KAFKA_PARTITIONS, retentionMs: config.FINEPRINT_KAFKA_RETENTION_HOURS * 3_600_000 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.events], fromBeginning: true });
  await rewindOnAssignment(consumer, admin, groupId, topics.events, compiled.maxSpanMs, log);
  let consuming = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (consuming = true));
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    consuming = false;
    log.error({ err: payload.error }, 'The Kafka consumer crashed; kafkajs restarts it.');
  });

  await consumeAtLeastOnce(
    consumer,
    CollectorRecord,
    {
      handle: async ({ partition, records }) => {
        const updates = classifier.classify(records.map((r) => r.value));
        await sendIncidentUpdates(producer, topics.incidents, `events-${partition}`, updates);
      },
      reject: async (rejected, from) => {
        metrics.errors.inc({ stage: 'classifier', error_type: 'invalid_record' }, rejected.length);
        log.warn({ count: rejected.length, reason: rejected[0]?.reason, ...from }, 'Sent invalid records to the dead-letter topic.');
        await sendToDeadLetter(producer, topics.deadLetter, from, rejected);
      },
    },
    log,
  );
  const status = await startStatusServer({
    host: config.FINEPRINT_STATUS_HOST,
    port: config.FINEPRINT_STATUS_PORT,
    metrics: registry,
    health: async () => ({ kafka: { ok: consuming } }),
  });
  log.info({ brokers: config.FINEPRINT_KAFKA_BROKERS, group: groupId, status: status.url }, 'fineprint classifier started');
  process.stdout.write(`fineprint classifier is consuming ${topics.events}; status at ${status.url}\n`);

  return {
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
      await status.close();
      await store?.close();
    },
  };
}
