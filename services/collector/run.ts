import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig, type Environment } from '../../shared/config.js';
import { dockerClient } from '../../shared/docker.js';
import { EmbeddedQueue } from '../../shared/embedded-queue.js';
import { watchDocker } from '../../shared/health-watch.js';
import { connectKafka } from '../../shared/kafka/client.js';
import { kafkaConfig } from '../../shared/kafka/config.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { startStatusServer, statusServerConfig } from '../../shared/status-server.js';
import { collectorConfig, collectorOptions } from './config.js';
import { createCollector } from './index.js';
import { loadLogLineFilter } from './log-filter.js';
import { kafkaRecordsSink } from './sinks/kafka.js';

/** The collector process of the distributed mode: sources -> on-disk buffer -> Kafka. */
export const collectorProcessConfig = {
  ...collectorConfig,
  ...kafkaConfig,
  FINEPRINT_BUFFER_MAX_RECORDS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(1_000_000)
    .describe('Records the on-disk buffer keeps while Kafka is unreachable; beyond, the oldest are dropped, logged and counted.'),
  ...statusServerConfig(7778),
};

export async function startCollectorProcess(env: Environment = process.env): Promise<{ stop(): Promise<void> }> {
  const config = loadConfig(collectorProcessConfig, env);
  const log = createLogger('fineprint-collector', config.FINEPRINT_LOG_LEVEL, config.FINEPRINT_LOG_FORMAT);
  const logAccept = await loadLogLineFilter(config.FINEPRINT_KB_DIR);
  const registry = new MetricsRegistry({ process: true });
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
  let kafkaUp = false;
  const forwarder = buffer.storedSource('kafka', {
    onError: (error, retry) => {
      kafkaUp = false;
      metrics.errors.inc({ stage: 'sending', error_type: 'kafka' });
      log.warn({ err: error, ...retry, buffered: buffer.backlog('kafka') }, 'Kafka did not take a batch; buffering on disk and retrying.');
    },
  });
  // Connecting retries until Kafka answers: the sources buffer on disk meanwhile.
  const stopping = new AbortController();
  const connecting = connectKafka(config, `fineprint-collector-${config.FINEPRINT_HOST_NAME}`, log, stopping.signal);
  connecting
    .then(({ producer, topics }) => {
      const forward = kafkaRecordsSink(producer, topics);
      return forwarder.run(async (batch) => {
        await forward(batch);
        kafkaUp = true;
      });
    })
    .catch((error: unknown) => {
      if (!stopping.signal.aborted) log.fatal({ err: error }, 'The Kafka forwarder stopped.');
    });
  const depthTimer = setInterval(() => bufferDepth.set({}, buffer.backlog('kafka')), 5000);
  depthTimer.unref();

  const docker = dockerClient(config.DOCKER_HOST);
  const collector = createCollector(
    { host: config.FINEPRINT_HOST_NAME, docker, sink: buffer.sink(), cursors: buffer.cursors(), log, metrics },
    collectorOptions(config, logAccept),
  );
  await collector.start();
  const dockerHealth = await watchDocker(docker, config.DOCKER_HOST);
  const status = await startStatusServer({
    host: config.FINEPRINT_STATUS_HOST,
    port: config.FINEPRINT_STATUS_PORT,
    metrics: registry,
    health: async () => {
      const buffered = buffer.backlog('kafka');
      return {
        docker: dockerHealth.current(),
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
      stopping.abort();
      await forwarder.stop();
      clearInterval(depthTimer);
      await connecting.then((kafka) => kafka.close(), () => undefined);
      await status.close();
      dockerHealth.stop();
      db.close();
    },
  };
}
