import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig, type Environment } from '../../shared/config.js';
import { errorType } from '../../shared/errors.js';
import { IncidentUpdateBatch } from '../../shared/incident.js';
import { connectKafka } from '../../shared/kafka/client.js';
import { elasticsearchConfig, kafkaConfig } from '../../shared/kafka/config.js';
import { kafkaSource } from '../../shared/kafka/consume.js';
import { sendToDeadLetter } from '../../shared/kafka/dead-letter.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { applyMeasured } from '../../shared/store/measured.js';
import { RiskRecord } from '../../shared/risk-record.js';
import { openDatabase } from '../../shared/sqlite.js';
import { openElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { IncidentQuery } from '../../shared/store/index.js';
import type { SourceHooks } from '../../shared/transport.js';
import { apiConfig } from './config.js';
import { createApiSide } from './index.js';

export const apiProcessConfig = {
  ...apiConfig,
  ...kafkaConfig,
  ...elasticsearchConfig,
  FINEPRINT_KAFKA_API_GROUP: z
    .string()
    .min(1)
    .optional()
    .describe('Kafka consumer group of the API replicas that file incident updates into Elasticsearch (`<group>-risks` for risk records).')
    .meta({ defaultText: '`<prefix>-api`' }),
};

/**
 * The API process of the distributed mode: files incident updates from Kafka into Elasticsearch
 * (offsets committed only after the bulk write is durable) and serves the same REST API as the
 * all-in-one.
 */
export async function startApiProcess(env: Environment = process.env): Promise<{ url: string; stop(): Promise<void> }> {
  const config = loadConfig(apiProcessConfig, env);
  const log = createLogger('fineprint-api', config.FINEPRINT_LOG_LEVEL, config.FINEPRINT_LOG_FORMAT);
  const kb = loadKnowledgeBase(config.FINEPRINT_KB_DIR);
  const registry = new MetricsRegistry({ process: true });
  const metrics = pipelineMetrics(registry);
  const store = await openElasticsearchStore({
    url: config.FINEPRINT_ELASTICSEARCH_URL,
    kb,
    indexPrefix: config.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX,
    reopenWindowMs: config.FINEPRINT_REOPEN_WINDOW,
  });
  // The outbox is local to this process (one API replica notifies; see docs/notifications.md).
  const notifyDb = openDatabase(join(config.FINEPRINT_DATA_DIR, 'notify.db'));
  const kafka = await connectKafka(config, 'fineprint-api', log);
  const { topics, producer } = kafka;
  const hooks = (what: string): SourceHooks => ({
    onInvalid: async (invalid) => {
      metrics.errors.inc({ stage: 'api', error_type: errorType('FP_EVENT_INVALID') }, invalid.length);
      log.warn({ count: invalid.length, reason: invalid[0]?.reason, origin: invalid[0]?.origin }, `Sent invalid ${what} to the dead-letter topic.`);
      await sendToDeadLetter(producer, topics.deadLetter, invalid);
    },
    onError: (error, retry) => log.error({ err: error, ...retry }, `Filing ${what} failed; retrying them.`),
  });
  const groupId = config.FINEPRINT_KAFKA_API_GROUP ?? `${config.FINEPRINT_KAFKA_TOPIC_PREFIX}-api`;
  const incidents = kafkaSource({ kafka: kafka.kafka, groupId, topic: topics.incidents, schema: IncidentUpdateBatch, sessionTimeoutMs: config.FINEPRINT_KAFKA_SESSION_TIMEOUT }, hooks('incident updates'));
  // Risk records have their own topic and group: the posture never waits behind incident updates.
  const risks = kafkaSource({ kafka: kafka.kafka, groupId: `${groupId}-risks`, topic: topics.risks, schema: RiskRecord, sessionTimeoutMs: config.FINEPRINT_KAFKA_SESSION_TIMEOUT }, hooks('risk records'));
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
      kafka: { ok: incidents.consuming },
    }),
  });

  await incidents.run(async ({ records }) => api.notifier.observe(await applyMeasured(store, records.flatMap((r) => r.updates), metrics)));
  await risks.run(async ({ records }) => store.risks.applyRisks(records));

  const url = await api.listen();
  process.stdout.write(`fineprint API at ${url}\n`);
  log.info({ url }, 'fineprint api started');
  return {
    url,
    async stop() {
      await incidents.stop();
      await risks.stop();
      await kafka.close();
      await api.stop();
      notifyDb.close();
      await store.close();
    },
  };
}
