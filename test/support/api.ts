// What the API's unit tests share: a real notifier without receivers (the routes read its
// deliveries) and one filed OOM kill to serve.
import { createNotifier, loadNotifyConfig } from '../../services/api/notify/index.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry } from '../../shared/metrics.js';
import type { Notifier } from '../../shared/notification.js';
import type { SqliteDatabase } from '../../shared/sqlite.js';
import type { IncidentStore } from '../../shared/store/index.js';
import { SqliteOutbox } from '../../shared/store/outbox-sqlite.js';

/** The real notifier with no receiver configured: it sends nothing. */
export function notifierWithoutReceivers(db: SqliteDatabase, store: IncidentStore, kb: KnowledgeBase): Notifier {
  return createNotifier({
    outbox: new SqliteOutbox(db),
    config: loadNotifyConfig(undefined),
    kb,
    publicUrl: () => 'http://127.0.0.1:7777',
    silences: () => store.silences(),
    changedSince: async () => [],
    incident: (id) => store.get(id),
    metrics: new MetricsRegistry(),
    log: createLogger('test', 'fatal'),
  });
}

/** One OOM kill of container `hog` on host h1, as the classifier files it. */
export function oomKillSignal(message = 'container oom hog'): IncidentUpdate {
  return {
    op: 'signal',
    proposedId: 'inc-oom-1',
    fingerprint: 'oom-kill|h1|ctr:hog',
    kbId: 'oom-kill',
    title: 'Container killed by the kernel OOM killer',
    severity: 'critical',
    host: 'h1',
    container: { id: 'c'.repeat(64), name: 'hog', image: 'busybox' },
    compose: null,
    facts: null,
    evidence: { eventId: 'e1', occurrenceId: 'e1', detector: 'oom-kill/docker-oom', ts: Date.UTC(2026, 10, 27), kind: 'docker', source: 'docker-events', message, action: 'oom' },
  };
}
