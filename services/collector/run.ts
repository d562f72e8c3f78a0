import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig, type Environment } from '../../shared/config.js';
import { dockerClient } from '../../shared/docker.js';
import { EmbeddedQueue } from '../../shared/embedded-queue.js';
import { createKafka } from '../../shared/kafka/client.js';
import { kafkaConfig } from '../../shared/kafka/config.js';
import { ensureTopics, topicNames } from '../../shared/kafka/topics.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { startStatusServer } from '../../shared/status-server.js';
import { compileKb } from '../classifier/match.js';
import { collectorConfig } from './config.js';
import { createCollector } from './index.js';
import { kafkaRecordsSink } from './sinks/kafka.js';

/** The collector process of the distributed mode: sources -> on-disk buffer -> Kafka. */
export const collectorProcessConfig = {
  ...collectorConfig,
  ...kafkaConfig,
  /** Records the on-disk buffer keeps while Kafka is unreachable; beyond, the oldest are dropped and counted. */
  FINEPRINT_BUFFER_MAX_RECORDS: z.coerce.number().int().min(1000).default(1_000_000),
  /** Address of /healthz and /metrics. */
  FINEPRINT_STATUS_HOST: z.string().min(1).default('127.0.0.1'),
  FINEPRINT_STATUS_PORT: z.coerce.number().int().min(0).max(65_535).default(7778),
};

export async function startCollectorProcess(env: Environment = process.env): Promise<{ stop(): Promise<void> }> {
  const config = loadConfig(collectorProcessConfig, env);
  const log = createLogger('fineprint-collector', config.FINEPRINT_LOG_LEVEL);
  const compiled = compileKb(loadKnowledgeBase(config.FINEPRINT_KB_DIR));
  const registry = new MetricsRegistry();
  const metrics = pipelineMetrics(registry);
  const bufferDepth = registry.gauge('fineprint_buffer_records', 'Records in the on-disk buffer not yet acknowledged by Kafka.');
  const db = openDatabase(join(config.FINEPRINT_DATA_DIR, 'collector.db'));
  const buffer = new EmbeddedQueue(db, {
    retentionMs: 0,
    // Fewer Kafka round trips per record; requests stay under the broker's size limit (sendInOrder).
    batchSize: 2000,
    maxBacklog: config.FINEPRINT_BUFFER_MAX_RECORDS,
    onDrop: (count) => {
      metrics.discarded.inc({ source: 'buffer', reason: 'buffer_full' }, count);
      log.error({ dropped: count }, 'The on-disk buffer is full (Kafka unreachable for long): dropped the oldest records.');
    },
  });
  const topics = topicNames(config.FINEPRINT_KAFKA_TOPIC_PREFIX);
  const kafka = createKafka(config.FINEPRINT_KAFKA_BROKERS, `fineprint-collector-${config.FINEPRINT_HOST_NAME}`, log);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  let kafkaUp = false;

  const forward = kafkaRecordsSink(producer, topics);
  const forwarder = buffer.source('kafka', {
    onInvalid: (offset, reason) => log.warn({ offset, reason }, 'Skipped an invalid record in the buffer.'),
    onError: (error) => {
      kafkaUp = false;
      metrics.errors.inc({ stage: 'sending', error_type: 'kafka' });
      log.warn({ err: error, buffered: buffer.backlog('kafka') }, 'Kafka did not take a batch; buffering on disk and retrying.');
    },
  });
  // Connecting and creating topics retries until Kafka answers: the sources buffer meanwhile.
  const connected = (async () => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const admin = kafka.admin();
        await admin.connect();
        await ensureTopics(admin, topics, { partitions: config.FINEPRINT_KAFKA_PARTITIONS, retentionMs: config.FINEPRINT_KAFKA_RETENTION_HOURS * 3_600_000 });
        await admin.disconnect();
        await producer.connect();
        return;
      } catch (error) {
        log.warn({ err: error, attempt }, 'Kafka is not reachable yet; buffering on disk.');
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** attempt)));
      }
    }
  })();
  const forwarding = connected.then(() =>
    forwarder.run(async (batch) => {
      await forward(batch);
      kafkaUp = true;
    }),
  );
  forwarding.catch((error: unknown) => log.fatal({ err: error }, 'The Kafka forwarder stopped.'));
  const depthTimer = setInterval(() => bufferDepth.set({}, buffer.backlog('kafka')), 5000);
  depthTimer.unref();

  const docker = dockerClient(config.DOCKER_HOST);
  const collector = createCollector(
    { host: config.FINEPRINT_HOST_NAME, docker, sink: buffer.sink(), cursors: buffer.cursors(), log, metrics },
    {
      kmsgPath: config.FINEPRINT_KMSG,
      kmsgBackfill: config.FINEPRINT_KMSG_BACKFILL,
      logAccept: compiled.acceptLogLine,
      logLinesPerSecond: config.FINEPRINT_LOG_LINES_PER_SECOND,
      probeIntervalMs: config.FINEPRINT_PROBE_INTERVAL * 1000,
      auditOnStart: config.FINEPRINT_AUDIT_ON_START,
      auditIntervalMs: config.FINEPRINT_AUDIT_INTERVAL * 1000,
    },
  );
  await collector.start();
  const status = await startStatusServer({
    host: config.FINEPRINT_STATUS_HOST,
    port: config.FINEPRINT_STATUS_PORT,
    metrics: registry,
    health: async () => {
      const dockerOk = await docker.ping().then(() => true, () => false);
      const buffered = buffer.backlog('kafka');
      return {
        docker: { ok: dockerOk },
        // Kafka being down is degraded but not fatal: records wait in the buffer.
        kafka: { ok: kafkaUp || buffered === 0, detail: `${buffered} records buffered` },
      };
    },
  });
  log.info({ host: config.FINEPRINT_HOST_NAME, brokers: config.FINEPRINT_KAFKA_BROKERS, status: status.url }, 'fineprint collector started');
  process.stdout.write(`fineprint collector is watching ${config.DOCKER_HOST}; status at ${status.url}\n`);

  return {
    async stop() {
      await collector.stop();
      // Give the forwarder a moment to hand Kafka what the sources flushed on stop.
      const deadline = Date.now() + 5000;
      while (kafkaUp && buffer.backlog('kafka') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await forwarder.stop();
      clearInterval(depthTimer);
      await producer.disconnect().catch(() => undefined);
      await status.close();
      db.close();
    },
  };
}
