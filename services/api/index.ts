import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { listenError } from '../../shared/errors.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import type { Logger } from '../../shared/log.js';
import type { MetricsRegistry } from '../../shared/metrics.js';
import type { NotificationOutbox, Notifier } from '../../shared/notification.js';
import type { IncidentStore } from '../../shared/store/index.js';
import { startAutoResolve } from './auto-resolve.js';
import { startRetention } from './retention.js';
import { incidentFiledLog } from './filed-log.js';
import type { ApiConfig } from './config.js';
import { changesFromStore, createNotifier, loadNotifyConfig, type NotifierOptions } from './notify/index.js';
import type { ApiServices } from './plugins/services.js';
import { buildServer } from './server.js';
import { apiTokens } from './token.js';

export interface ApiSideOptions {
  config: ApiConfig;
  store: IncidentStore;
  kb: KnowledgeBase;
  /** The notification outbox (the all-in-one's database, or Elasticsearch shared by the API replicas) and how this process takes turns on it. */
  notify: { outbox: NotificationOutbox } & Pick<NotifierOptions, 'leaseMs' | 'pollMs'>;
  metrics: MetricsRegistry;
  log: Logger;
  health: ApiServices['health'];
}

export interface ApiSide {
  /** Tell it about every incident the store changed (what `store.apply` returns). */
  notifier: Notifier;
  /** Listens, then starts notifying and auto-resolving; resolves with the API's address. */
  listen(): Promise<string>;
  /** Stops serving (draining requests), auto-resolving and notifying; pending notifications stay queued. */
  stop(): Promise<void>;
}

/**
 * What owns the incident store in either mode (the all-in-one process, or the API process of the
 * distributed mode): the REST API and page, the notifier and the auto-resolve loop.
 */
export async function createApiSide(options: ApiSideOptions): Promise<ApiSide> {
  const { config, store, kb, log } = options;
  // Links in notifications point at the public URL, else at the API's address once it listens.
  let apiUrl = '';
  const notifier = createNotifier({
    ...options.notify,
    // A process is known by its host and data dir: restarted after a crash, it takes its lease back
    // at once; replicas on other hosts, or with data dirs of their own, wait it out.
    holder: `${hostname()}:${resolve(config.FINEPRINT_DATA_DIR)}`,
    config: loadNotifyConfig(config.FINEPRINT_NOTIFY_CONFIG),
    kb,
    publicUrl: () => config.FINEPRINT_PUBLIC_URL ?? apiUrl,
    silences: () => store.silences(),
    changedSince: changesFromStore(store),
    incident: (id) => store.get(id),
    risks: store.risks,
    metrics: options.metrics,
    log,
  });
  const { tokens, generatedAdminToken } = apiTokens(config);
  const allowedHosts = [config.FINEPRINT_API_HOST, ...(config.FINEPRINT_PUBLIC_URL ? [new URL(config.FINEPRINT_PUBLIC_URL).hostname] : []), ...config.FINEPRINT_ALLOWED_HOSTS];
  const server = await buildServer({ store, kb, metrics: options.metrics, notifier, tokens, allowedHosts, health: options.health }, log);
  let autoResolve: { stop(): Promise<void> } | undefined;
  let retention: { stop(): Promise<void> } | undefined;
  const logFiled = incidentFiledLog(log);

  return {
    // What the pipeline changed: each new incident is also one log line.
    notifier: {
      ...notifier,
      async observe(incidents) {
        logFiled(incidents);
        await notifier.observe(incidents);
      },
    },
    async listen() {
      apiUrl = await server.listen({ host: config.FINEPRINT_API_HOST, port: config.FINEPRINT_API_PORT }).catch((error: unknown) => {
        throw listenError(error, 'FINEPRINT_API_HOST', 'FINEPRINT_API_PORT');
      });
      notifier.start();
      autoResolve = startAutoResolve({ store, kb, notifier, log, defaultQuietMs: config.FINEPRINT_RESOLVE_AFTER });
      retention = startRetention({ store, log, retentionMs: config.FINEPRINT_RETENTION });
      const tokenFile = join(config.FINEPRINT_DATA_DIR, 'admin-token');
      if (generatedAdminToken) {
        // Printed once, on the first start; afterwards it is in the data dir (mode 0600).
        process.stdout.write(`fineprint admin token (saved in ${tokenFile}): ${generatedAdminToken}\n`);
      } else {
        process.stdout.write(`fineprint admin token: ${config.FINEPRINT_ADMIN_TOKEN ? 'FINEPRINT_ADMIN_TOKEN (no token file)' : tokenFile}\n`);
      }
      return apiUrl;
    },
    async stop() {
      await server.close();
      await autoResolve?.stop();
      await retention?.stop();
      await notifier.stop();
    },
  };
}
