import { z } from 'zod';
import { loadConfig, type Environment } from '../../shared/config.js';
import { errorType } from '../../shared/errors.js';
import { watchHealth } from '../../shared/health-watch.js';
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
import { openElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { openElasticsearchOutbox } from '../../shared/store/outbox-elasticsearch.js';
import { Duration } from '../../shared/kb/schema.js';
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
  FINEPRINT_NOTIFY_LEASE: Duration.pipe(z.number().min(1000, 'at least 1s'))
    .prefault('30s')
    .describe(
      'How long the notification lease lasts unless renewed: one API replica at a time holds it and delivers every notification; when that replica dies, another takes its queued notifications over after this long. A receiver `timeout` longer than half of it lengthens it to twice that timeout.',
    ),
  FINEPRINT_NOTIFY_POLL: Duration.pipe(z.number().min(100, 'at least 100ms'))
    .prefault('1s')
    .describe(
      'How often the replica holding the notification lease reads the incidents other replicas filed or changed: the most this adds to a notification of an incident another replica filed.',
    ),
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
    evidenceKept: config.FINEPRINT_EVIDENCE_KEPT,
  });
  // Shared by every replica: the lease's holder delivers, the others take over when it dies (docs/notifications.md).
  const outbox = await openElasticsearchOutbox({ url: config.FINEPRINT_ELASTICSEARCH_URL, indexPrefix: config.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX });
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
  // A search of one incident, in the background: /healthz answers from memory (see watchHealth).
  const elasticsearchHealth = await watchHealth(() =>
    store.search(IncidentQuery.parse({ limit: 1 })).then(
      () => ({ ok: true }),
      (error: unknown) => ({ ok: false, detail: String(error) }),
    ),
  );
  const api = await createApiSide({
    config,
    store,
    kb,
    notify: { outbox, leaseMs: config.FINEPRINT_NOTIFY_LEASE, pollMs: config.FINEPRINT_NOTIFY_POLL },
    metrics: registry,
    log,
    health: async () => ({ elasticsearch: elasticsearchHealth.current(), kafka: { ok: incidents.consuming } }),
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
      elasticsearchHealth.stop();
      await outbox.close();
      await store.close();
    },
  };
}
