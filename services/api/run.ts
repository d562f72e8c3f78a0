import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig, type Environment } from '../../shared/config.js';
import { IncidentUpdateBatch } from '../../shared/incident.js';
import { createKafka } from '../../shared/kafka/client.js';
import { elasticsearchConfig, kafkaConfig } from '../../shared/kafka/config.js';
import { consumeAtLeastOnce, type Rejected } from '../../shared/kafka/consume.js';
import { sendToDeadLetter } from '../../shared/kafka/dead-letter.js';
import { ensureTopics, topicNames } from '../../shared/kafka/topics.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { RiskRecord } from '../../shared/risk-record.js';
import { openDatabase } from '../../shared/sqlite.js';
import { openElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { IncidentQuery } from '../../shared/store/index.js';
import { apiConfig } from './config.js';
import { createApiSide } from './serve.js';

export const apiProcessConfig = {
  ...apiConfig,
  ...kafkaConfig,
  ...elasticsearchConfig,
  /** Consumer group of the API replicas that file incident updates into Elasticsearch. Default <prefix>-api (and <group>-risks for risk records). */
  FINEPRINT_KAFKA_API_GROUP: z.string().min(1).optional(),
};

/**
 * The API process of the distributed mode: files incident updates from Kafka into Elasticsearch
 * (offsets committed only after the bulk write is durable) and serves the same REST API as the
 * all-in-one.
 */
export async function startApiProcess(env: Environment = process.env): Promise<{ url: string; stop(): Promise<void> }> {
  const config = loadConfig(apiProcessConfig, env);
  const log = createLogger('fineprint-api', config.FINEPRINT_LOG_LEVEL);
  const kb = loadKnowledgeBase(config.FINEPRINT_KB_DIR);
  const registry = new MetricsRegistry();
  const metrics = pipelineMetrics(registry);
  const store = await openElasticsearchStore({
    url: config.FINEPRINT_ELASTICSEARCH_URL,
    kb,
    indexPrefix: config.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX,
    reopenWindowMs: config.FINEPRINT_REOPEN_WINDOW,
  });
  // The outbox is local to this process (one API replica notifies; see README "Notifications").
  const notifyDb = openDatabase(join(config.FINEPRINT_DATA_DIR, 'notify.db'));
  let consuming = false;
  const api = await createApiSide({
    config,
    store,
    kb,
    outboxDb: notifyDb,
    metrics: registry,
    log,
    health: async () => ({
      elasticsearch: await store.search(IncidentQuery.parse({ limit: 1 })).then(
        () => ({ ok: true }),
        (error: unknown) => ({ ok: false, detail: String(error) }),
      ),
      kafka: { ok: consuming },
    }),
  });

  const topics = topicNames(config.FINEPRINT_KAFKA_TOPIC_PREFIX);
  const kafka = createKafka(config.FINEPRINT_KAFKA_BROKERS, 'fineprint-api', log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, { partitions: config.FINEPRINT_KAFKA_PARTITIONS, retentionMs: config.FINEPRINT_KAFKA_RETENTION_HOURS * 3_600_000 });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const toDeadLetter = (what: string) => async (rejected: Rejected[], from: { topic: string; partition: number }) => {
    metrics.errors.inc({ stage: 'api', error_type: 'invalid_record' }, rejected.length);
    log.warn({ count: rejected.length, reason: rejected[0]?.reason, ...from }, `Sent invalid ${what} to the dead-letter topic.`);
    await sendToDeadLetter(producer, topics.deadLetter, from, rejected);
  };
  const groupId = config.FINEPRINT_KAFKA_API_GROUP ?? `${config.FINEPRINT_KAFKA_TOPIC_PREFIX}-api`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.incidents], fromBeginning: true });
  consumer.on(consumer.events.GROUP_JOIN, () => (consuming = true));
  consumer.on(consumer.events.CRASH, () => (consuming = false));
  await consumeAtLeastOnce(
    consumer,
    IncidentUpdateBatch,
    {
      handle: async ({ records }) => {
        await api.notifier.observe(await store.apply(records.flatMap((r) => r.value.updates)));
      },
      reject: toDeadLetter('incident updates'),
    },
    log,
  );
  // Risk records have their own topic and group: the posture never waits behind incident updates.
  const riskConsumer = kafka.consumer({ groupId: `${groupId}-risks`, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxWaitTimeInMs: 500 });
  await riskConsumer.connect();
  await riskConsumer.subscribe({ topics: [topics.risks], fromBeginning: true });
  await consumeAtLeastOnce(
    riskConsumer,
    RiskRecord,
    {
      handle: async ({ records }) => store.risks.applyRisks(records.map((r) => r.value)),
      reject: toDeadLetter('risk records'),
    },
    log,
  );

  const url = await api.listen();
  process.stdout.write(`fineprint API at ${url}\n`);
  log.info({ url }, 'fineprint api started');
  return {
    url,
    async stop() {
      await consumer.disconnect();
      await riskConsumer.disconnect();
      await producer.disconnect();
      await api.stop();
      notifyDb.close();
      await store.close();
    },
  };
}
