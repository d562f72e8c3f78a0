import type { Incident } from '../../../shared/incident.js';
import type { KnowledgeBase } from '../../../shared/kb/load.js';
import type { Logger } from '../../../shared/log.js';
import { apiMetrics, type MetricsRegistry } from '../../../shared/metrics.js';
import type { Notifier } from '../../../shared/notification.js';
import type { Silence } from '../../../shared/silence.js';
import type { SqliteDatabase } from '../../../shared/sqlite.js';
import type { RiskStore } from '../../../shared/risk.js';
import { IncidentQuery, type IncidentStore } from '../../../shared/store/index.js';
import { ALERTMANAGER_REPOST_MS, compileRoutes, DEFAULT_GROUP_WAIT_MS, routesFor, type NotifyConfig, type Receiver } from './config.js';
import { Deliverer, sinkOf } from './deliver.js';
import { flushGroup, groupKey } from './grouping.js';
import { Outbox, type GroupPlan, type GroupRow } from './outbox.js';
import { createRiskDigests } from './risk-digest.js';

export { loadNotifyConfig } from './config.js';

export interface NotifierOptions {
  /** Where the outbox lives: the all-in-one's database, or `<data dir>/notify.db` of the API process. */
  db: SqliteDatabase;
  /** Receivers and routes (`loadNotifyConfig`); without receivers nothing is sent, states are still kept. */
  config: NotifyConfig;
  /** For tags (routes), why and fix (messages). */
  kb: KnowledgeBase;
  /** Base of the links to incidents, `<url>/#/incidents/<id>`; read when a notification is queued. */
  publicUrl: () => string;
  /** The silences in force; read at each group flush. */
  silences: () => Promise<Silence[]>;
  /**
   * Incidents changed at or after a time (ms), for the catch-up at start: whatever the store wrote
   * but a crash kept from `observe()` is observed then (see `changesFromStore`).
   */
  changedSince: (ts: number) => Promise<Incident[]>;
  /** The current risks, for the daily digests of `kind: risk` routes (none without it). */
  risks?: RiskStore;
  metrics: MetricsRegistry;
  log: Logger;
  /** Delivery loop period (ms, default 100): the latency added after group_wait. */
  tickMs?: number;
}

/** How far before the high-water mark the catch-up at start looks again (clock steps, late writers). */
const CATCH_UP_MARGIN_MS = 60_000;
/** Finished deliveries and resolved incident states are kept this long. */
const KEEP_MS = 7 * 86_400_000;

/** `changedSince` over a store's search (`updatedSince`), every page. */
export function changesFromStore(store: Pick<IncidentStore, 'search'>): (ts: number) => Promise<Incident[]> {
  return async (ts) => {
    const all: Incident[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.search(IncidentQuery.parse({ updatedSince: String(ts), limit: 500, ...(cursor && { cursor }) }));
      all.push(...page.incidents);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  };
}

/**
 * The notifier: from "an incident changed" to "a receiver got it", through grouping, silences and
 * a persisted outbox.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const { db, config, kb, log } = options;
  const outbox = new Outbox(db);
  const routes = compileRoutes(config.routes);
  const receivers = new Map<string, Receiver>(config.receivers.map((r) => [r.name, r]));
  const metrics = apiMetrics(options.metrics);
  const deliverer = new Deliverer(outbox, receivers, metrics, log);
  const tickMs = options.tickMs ?? 100;
  const incidentUrl = (id: string): string => `${options.publicUrl().replace(/\/+$/, '')}/#/incidents/${encodeURIComponent(id)}`;
  const digests = options.risks
    ? createRiskDigests({ db, outbox, risks: options.risks, routes, receivers, kb, risksUrl: () => `${options.publicUrl().replace(/\/+$/, '')}/#/risks` })
    : undefined;

  const plan = (incident: Incident): GroupPlan[] => {
    const tags = kb.byId.get(incident.kbId)?.tags ?? [];
    return routesFor(routes, incident, tags).flatMap((route) =>
      route.receivers.map((receiver) => ({
        receiver,
        route: route.index,
        key: groupKey(route, incident),
        waitMs: route.group_wait ?? (incident.severity === 'critical' ? DEFAULT_GROUP_WAIT_MS.critical : DEFAULT_GROUP_WAIT_MS.other),
        intervalMs: route.group_interval,
      })),
    );
  };

  async function flushDue(now: number): Promise<void> {
    const groups = outbox.dueGroups(now);
    if (groups.length === 0) return;
    const silences = await options.silences();
    for (const group of groups) flush(group, silences, now);
  }

  function flush(group: GroupRow, silences: Silence[], now: number): void {
    const receiver = receivers.get(group.receiver);
    const route = routes[group.route];
    const members = outbox.members(group.id);
    if (!receiver || !route) {
      // The config changed since: the group has nowhere to go.
      outbox.commitFlush(group, { deliveries: [], notified: new Map(), remove: members.map((m) => m.incident.id), nextFlushAt: null, sent: false }, now);
      return;
    }
    const sink = sinkOf(receiver);
    const result = flushGroup(group, members, {
      receiverType: receiver.type,
      repeatMs: receiver.type === 'alertmanager' ? Math.min(route.repeat_interval, ALERTMANAGER_REPOST_MS) : route.repeat_interval,
      silences,
      kb: (id) => kb.byId.get(id),
      incidentUrl,
      render: (n) => sink.render(n, receiver),
      now,
    });
    outbox.commitFlush(group, result, now);
  }

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking: Promise<void> | undefined;

  async function tick(): Promise<void> {
    const now = Date.now();
    try {
      await flushDue(now);
      deliverer.attemptDue(now);
      metrics.pending.set({}, outbox.pendingCount());
      // Last: reading the risks cannot hold up incident notifications; queued digests go next tick.
      await digests?.queueDue(now);
    } catch (error) {
      log.error({ err: error }, 'The notification loop failed; trying again.');
    }
  }

  function schedule(delay: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      ticking = tick().finally(() => {
        ticking = undefined;
        schedule(tickMs);
      });
    }, delay);
  }

  async function catchUp(): Promise<void> {
    const since = outbox.highWater(Date.now()) - CATCH_UP_MARGIN_MS;
    for (;;) {
      try {
        const changed = await options.changedSince(since);
        const count = outbox.observe(changed, plan, Date.now());
        if (count > 0) log.info({ since: new Date(since).toISOString(), changed: count }, 'Notifier caught up with incidents changed while it was down.');
        return;
      } catch (error) {
        if (!running) return;
        log.warn({ err: error }, 'Notifier could not read changed incidents at start; trying again in 5 s.');
        await new Promise((resolve) => setTimeout(resolve, 5000));
      }
    }
  }

  return {
    async observe(incidents) {
      if (incidents.length === 0) return;
      if (outbox.observe(incidents, plan, Date.now()) > 0 && running && !ticking) schedule(0);
    },
    deliveries: async (incidentId) => outbox.deliveries(incidentId),
    routing: (incident) => ({ receivers: receivers.size, routedTo: [...new Set(plan(incident).map((p) => p.receiver))] }),
    start() {
      if (running) return;
      running = true;
      outbox.prune(Date.now() - KEEP_MS);
      void catchUp().then(() => schedule(0));
      schedule(0);
      log.info({ receivers: receivers.size, routes: routes.length }, 'Notifier started.');
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await ticking;
      await deliverer.idle();
    },
  };
}
