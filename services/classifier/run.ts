import type { Admin, Consumer } from 'kafkajs';
import { z } from 'zod';
import { loadConfig, type Environment } from '../../shared/config.js';
import { CollectorRecord } from '../../shared/event.js';
import { errorType } from '../../shared/errors.js';
import { connectKafka } from '../../shared/kafka/client.js';
import { elasticsearchConfig, kafkaConfig } from '../../shared/kafka/config.js';
import { kafkaSource } from '../../shared/kafka/consume.js';
import { sendToDeadLetter } from '../../shared/kafka/dead-letter.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { startStatusServer, statusServerConfig } from '../../shared/status-server.js';
import { openElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { openElasticsearchBaselines } from '../../shared/store/baselines-elasticsearch.js';
import { openElasticsearchVolumeUsers } from '../../shared/store/volume-users-elasticsearch.js';
import { classifierConfig } from './config.js';
import { compileKb, createClassifier, FactsCache, VolumeHistory } from './index.js';
import { sendIncidentUpdates } from './sinks/kafka.js';

export const classifierProcessConfig = {
  ...classifierConfig,
  ...kafkaConfig,
  FINEPRINT_ELASTICSEARCH_URL: elasticsearchConfig.FINEPRINT_ELASTICSEARCH_URL.optional().describe(
    'Elasticsearch URL: with it a restarted classifier resumes correlation from the incidents already filed.',
  ),
  FINEPRINT_ELASTICSEARCH_INDEX_PREFIX: elasticsearchConfig.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX,
  FINEPRINT_KAFKA_GROUP: z
    .string()
    .min(1)
    .optional()
    .describe('Kafka consumer group of the classifiers: one group for the fleet, more members, more parallelism.')
    .meta({ defaultText: '`<prefix>-classifier`' }),
  ...statusServerConfig(7779),
};

/**
 * Windows and sequences see a container's events in order on one classifier. Their state is rebuilt
 * from the event log: when partitions are assigned, each is read again from `spanMs` before its
 * committed offset. Re-read events only repeat updates the store already has (idempotent).
 */
function rewindOnAssignment(consumer: Consumer, admin: Admin, groupId: string, topic: string, spanMs: number, log: Logger): void {
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
  const log = createLogger('fineprint-classifier', config.FINEPRINT_LOG_LEVEL, config.FINEPRINT_LOG_FORMAT);
  const kb = loadKnowledgeBase(config.FINEPRINT_KB_DIR);
  const compiled = compileKb(kb);
  const registry = new MetricsRegistry({ process: true });
  const metrics = pipelineMetrics(registry);
  const store = config.FINEPRINT_ELASTICSEARCH_URL
    ? await openElasticsearchStore({ url: config.FINEPRINT_ELASTICSEARCH_URL, kb, indexPrefix: config.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX })
    : undefined;
  const volumeUsers = config.FINEPRINT_ELASTICSEARCH_URL
    ? await openElasticsearchVolumeUsers({
        url: config.FINEPRINT_ELASTICSEARCH_URL,
        indexPrefix: config.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX,
        onSaveError: (error) => log.warn({ err: error }, 'Could not save which containers used a volume; a restart forgets it.'),
      })
    : undefined;
  const baselines = config.FINEPRINT_ELASTICSEARCH_URL
    ? await openElasticsearchBaselines({
        url: config.FINEPRINT_ELASTICSEARCH_URL,
        indexPrefix: config.FINEPRINT_ELASTICSEARCH_INDEX_PREFIX,
        onSaveError: (error) => log.warn({ err: error }, "Could not save a container's clean-run setup; a restart forgets it."),
      })
    : undefined;
  const classifier = createClassifier({
    kb: compiled,
    facts: new FactsCache(),
    volumes: new VolumeHistory(volumeUsers),
    ...(store ? { activeOccurrences: (since: number) => store.activeOccurrences(since) } : {}),
    metrics,
    log,
    mergeWithinMs: config.FINEPRINT_MERGE_WINDOW,
    cleanRunMs: config.FINEPRINT_CLEAN_RUN,
    ...(baselines ? { baselines } : {}),
  });
  await classifier.restore();

  const kafka = await connectKafka(config, 'fineprint-classifier', log);
  const { topics, producer, admin } = kafka;
  // Deployments that share a broker under different prefixes must not share a group.
  const groupId = config.FINEPRINT_KAFKA_GROUP ?? `${config.FINEPRINT_KAFKA_TOPIC_PREFIX}-classifier`;
  const events = kafkaSource(
    {
      kafka: kafka.kafka,
      groupId,
      topic: topics.events,
      schema: CollectorRecord,
      sessionTimeoutMs: config.FINEPRINT_KAFKA_SESSION_TIMEOUT,
      onConsumer: (consumer) => rewindOnAssignment(consumer, admin, groupId, topics.events, compiled.maxSpanMs, log),
    },
    {
      onInvalid: async (invalid) => {
        metrics.errors.inc({ stage: 'classifier', error_type: errorType('FP_EVENT_INVALID') }, invalid.length);
        log.warn({ count: invalid.length, reason: invalid[0]?.reason, origin: invalid[0]?.origin }, 'Sent invalid records to the dead-letter topic.');
        await sendToDeadLetter(producer, topics.deadLetter, invalid);
      },
      onError: (error, retry) => log.error({ err: error, ...retry }, 'Classifying a batch failed; retrying it.'),
    },
  );
  await events.run(async ({ records, stream }) => sendIncidentUpdates(producer, topics.incidents, stream, classifier.classify(records)));
  const status = await startStatusServer({
    host: config.FINEPRINT_STATUS_HOST,
    port: config.FINEPRINT_STATUS_PORT,
    metrics: registry,
    health: async () => ({ kafka: { ok: events.consuming } }),
  });
  log.info({ brokers: config.FINEPRINT_KAFKA_BROKERS, group: groupId, status: status.url }, 'fineprint classifier started');
  process.stdout.write(`fineprint classifier is consuming ${topics.events}; status at ${status.url}\n`);

  return {
    async stop() {
      await events.stop();
      await kafka.close();
      await status.close();
      await store?.close();
      await volumeUsers?.close();
      await baselines?.close();
    },
  };
}
