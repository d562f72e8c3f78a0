import { join } from 'node:path';
import { loadConfig, type Environment } from '../../shared/config.js';
import { dockerClient } from '../../shared/docker.js';
import { EmbeddedQueue } from '../../shared/embedded-queue.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { apiConfig } from '../api/config.js';
import { createApiSide } from '../api/serve.js';
import { compileKb, createClassifier, FactsCache } from '../classifier/index.js';
import { classifierConfig } from '../classifier/config.js';
import { collectorConfig } from '../collector/config.js';
import { createCollector } from '../collector/index.js';

export interface RunningAllInOne {
  url: string;
  stop(): Promise<void>;
}

/**
 * fineprint on one host, in one process: collector -> embedded queue -> classifier -> embedded
 * store -> API, all in one SQLite database under the data dir.
 */
export async function startAllInOne(env: Environment = process.env): Promise<RunningAllInOne> {
  const config = loadConfig({ ...collectorConfig, ...classifierConfig, ...apiConfig }, env);
  const log = createLogger('fineprint', config.FINEPRINT_LOG_LEVEL);
  const kb = loadKnowledgeBase(config.FINEPRINT_KB_DIR);
  const compiled = compileKb(kb);
  const db = openDatabase(join(config.FINEPRINT_DATA_DIR, 'fineprint.db'));
  const queue = new EmbeddedQueue(db);
  const store = new SqliteIncidentStore(db, kb, { reopenWindowMs: config.FINEPRINT_REOPEN_WINDOW });
  const registry = new MetricsRegistry();
  const metrics = pipelineMetrics(registry);
  const docker = dockerClient(config.DOCKER_HOST);
  const host = config.FINEPRINT_HOST_NAME;

  const classifier = createClassifier({
    kb: compiled,
    facts: new FactsCache(store),
    activeOccurrences: (since) => store.activeOccurrences(since),
    metrics,
    log,
    mergeWithinMs: config.FINEPRINT_MERGE_WINDOW,
  });
  await classifier.restore();
  const api = await createApiSide({
    config,
    store,
    kb,
    outboxDb: db,
    metrics: registry,
    log,
    health: async () => {
      const dockerOk = await docker
        .ping()
        .then(() => true)
        .catch(() => false);
      return {
        store: { ok: db.open },
        docker: { ok: dockerOk, ...(dockerOk ? {} : { detail: `cannot reach ${config.DOCKER_HOST}` }) },
      };
    },
  });
  const records = queue.source('classifier', {
    onInvalid: (offset, reason) => {
      metrics.errors.inc({ stage: 'classifier', error_type: 'invalid_record' });
      log.warn({ offset, reason }, 'skipped an invalid record in the embedded queue');
    },
    onError: (error) => {
      metrics.errors.inc({ stage: 'classifier', error_type: 'store' });
      log.error({ err: error }, 'classifying a batch failed; retrying it');
    },
  });
  const running = records.run(async (batch) => {
    await store.risks.applyRisks(batch.records.flatMap((r) => (r.type === 'risks' ? [r.risks] : [])));
    await api.notifier.observe(await store.apply(classifier.classify(batch.records)));
  });
  running.catch((error: unknown) => log.fatal({ err: error }, 'classifier stopped'));

  const collector = createCollector(
    { host, docker, sink: queue.sink(), cursors: queue.cursors(), log, metrics },
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
      db.close();
      log.info('fineprint stopped');
    },
  };
}
