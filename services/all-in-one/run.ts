import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig, type Environment } from '../../shared/config.js';
import { dockerClient } from '../../shared/docker.js';
import { errorType, errorTypeOf } from '../../shared/errors.js';
import { EmbeddedQueue } from '../../shared/embedded-queue.js';
import { watchDocker } from '../../shared/health-watch.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { logLineFilter } from '../../shared/kb/prefilter.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { applyMeasured } from '../../shared/store/measured.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { SqliteOutbox } from '../../shared/store/outbox-sqlite.js';
import { SqliteVolumeUsers } from '../../shared/store/volume-users-sqlite.js';
import { apiConfig } from '../api/config.js';
import { createApiSide } from '../api/index.js';
import { compileKb, createClassifier, FactsCache, VolumeHistory } from '../classifier/index.js';
import { classifierConfig } from '../classifier/config.js';
import { collectorConfig, collectorOptions } from '../collector/config.js';
import { createCollector } from '../collector/index.js';

/** `fineprint start`'s settings: the collector's, the classifier's and the API's, and the embedded store's size. */
export const allInOneConfig = {
  ...collectorConfig,
  ...classifierConfig,
  ...apiConfig,
  FINEPRINT_RETENTION_SIZE: z.coerce
    .number()
    .int()
    .min(0)
    .default(2048)
    .describe(
      'Retention by size, in MiB: when the database in the data dir uses more, the incidents resolved longest ago are deleted with their evidence (down to 90% of it) and the space goes back to the file system. Open and acknowledged incidents are never deleted for size. Checked with FINEPRINT_RETENTION, at start and every hour; 0 turns it off. The default holds about 100,000 incidents (20 KB each with their kept evidence).',
    ),
};

export interface RunningAllInOne {
  url: string;
  stop(): Promise<void>;
}

/**
 * fineprint on one host, in one process: collector -> embedded queue -> classifier -> embedded
 * store -> API, all in one SQLite database under the data dir.
 */
export async function startAllInOne(env: Environment = process.env): Promise<RunningAllInOne> {
  const config = loadConfig(allInOneConfig, env);
  const log = createLogger('fineprint', config.FINEPRINT_LOG_LEVEL, config.FINEPRINT_LOG_FORMAT);
  const kb = loadKnowledgeBase(config.FINEPRINT_KB_DIR);
  const compiled = compileKb(kb);
  const db = openDatabase(join(config.FINEPRINT_DATA_DIR, 'fineprint.db'));
  const queue = new EmbeddedQueue(db);
  const store = new SqliteIncidentStore(db, kb, {
    reopenWindowMs: config.FINEPRINT_REOPEN_WINDOW,
    evidenceKept: config.FINEPRINT_EVIDENCE_KEPT,
    ...(config.FINEPRINT_RETENTION_SIZE > 0 ? { maxBytes: config.FINEPRINT_RETENTION_SIZE * 1024 * 1024 } : {}),
  });
  const registry = new MetricsRegistry({ process: true });
  const metrics = pipelineMetrics(registry);
  const docker = dockerClient(config.DOCKER_HOST);
  const dockerHealth = await watchDocker(docker, config.DOCKER_HOST);
  const host = config.FINEPRINT_HOST_NAME;

  const classifier = createClassifier({
    kb: compiled,
    facts: new FactsCache(store),
    volumes: new VolumeHistory(new SqliteVolumeUsers(db)),
    activeOccurrences: (since) => store.activeOccurrences(since),
    metrics,
    log,
    mergeWithinMs: config.FINEPRINT_MERGE_WINDOW,
    cleanRunMs: config.FINEPRINT_CLEAN_RUN,
    baselines: store,
  });
  await classifier.restore();
  const api = await createApiSide({
    config,
    store,
    kb,
    notify: { outbox: new SqliteOutbox(db) },
    metrics: registry,
    log,
    health: async () => ({ store: { ok: db.open }, docker: dockerHealth.current() }),
  });
  const records = queue.source('classifier', {
    onInvalid: async (invalid) => {
      metrics.errors.inc({ stage: 'classifier', error_type: errorType('FP_EVENT_INVALID') }, invalid.length);
      log.warn({ count: invalid.length, reason: invalid[0]?.reason, origin: invalid[0]?.origin }, 'Skipped invalid records in the embedded queue.');
    },
    onError: (error, retry) => {
      metrics.errors.inc({ stage: 'classifier', error_type: errorTypeOf(error) });
      log.error({ err: error, ...retry }, 'Classifying a batch failed; retrying it.');
    },
  });
  await records.run(async (batch) => {
    await store.risks.applyRisks(batch.records.flatMap((r) => (r.type === 'risks' ? [r.risks] : [])));
    await api.notifier.observe(await applyMeasured(store, classifier.classify(batch.records), metrics));
  });

  const collector = createCollector(
    { host, docker, sink: queue.sink(), cursors: queue.cursors(), log, metrics },
    collectorOptions(config, logLineFilter(kb)),
  );

  const url = await api.listen();
  await collector.start();
  log.info({ url, host, dataDir: config.FINEPRINT_DATA_DIR, kbEntries: kb.entries.length }, 'fineprint all-in-one started');
  process.stdout.write(`fineprint is watching ${config.DOCKER_HOST}; API at ${url}\n`);

  return {
    url,
    async stop() {
      await collector.stop();
      await records.stop();
      await api.stop();
      dockerHealth.stop();
      db.close();
      log.info('fineprint stopped');
    },
  };
}
