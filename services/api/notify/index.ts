import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Incident, IncidentDetail } from '../../../shared/incident.js';
import type { KnowledgeBase } from '../../../shared/kb/load.js';
import type { Logger } from '../../../shared/log.js';
import { apiMetrics, type MetricsRegistry } from '../../../shared/metrics.js';
import type { GroupMember, GroupPlan, NotificationOutbox, Notifier, NotifyGroup } from '../../../shared/notification.js';
import type { Silence } from '../../../shared/silence.js';
import type { RiskStore } from '../../../shared/risk.js';
import { IncidentQuery, type IncidentStore } from '../../../shared/store/index.js';
import { ALERTMANAGER_REPOST_MS, compileRoutes, DEFAULT_GROUP_WAIT_MS, routesFor, type NotifyConfig, type Receiver } from './config.js';
import { Deliverer, sinkOf } from './deliver.js';
import { flushGroup, groupKey } from './grouping.js';
import { createRiskDigests } from './risk-digest.js';

export { loadNotifyConfig } from './config.js';

export interface NotifierOptions {
  /** Where groups and deliveries live: the all-in-one's SQLite database, or Elasticsearch shared by the API replicas. */
  outbox: NotificationOutbox;
  /** Receivers and routes (`loadNotifyConfig`); without receivers nothing is kept or sent. */
  config: NotifyConfig;
  /** For tags (routes), why and fix (messages). */
  kb: KnowledgeBase;
  /** Base of the links to incidents, `<url>/#/incidents/<id>`; read when a notification is queued. */
  publicUrl: () => string;
  /** The silences in force; read at each group flush. */
  silences: () => Promise<Silence[]>;
  /**
   * Incidents changed at or after a time (ms), for the catch-up when this notifier takes the lease:
   * whatever the store wrote but a crash kept from `observe()` is observed then (see `changesFromStore`).
   */
  changedSince: (ts: number) => Promise<Incident[]>;
  /**
   * An incident as the store has it now (`store.get`), read at a flush: the cause of a linked member
   * (an unresolved cause inhibits it) and the consequences a cause's notification names.
   */
  incident: (id: string) => Promise<CurrentIncident | undefined>;
  /** The current risks, for the daily digests of `kind: risk` routes (none without it). */
  risks?: RiskStore;
  metrics: MetricsRegistry;
  log: Logger;
  /** Delivery loop period (ms, default 100): the latency added after group_wait. */
  tickMs?: number;
  /**
   * This notifier's name on the delivery lease (default: host name and a random id). Given the same
   * name again after a crash, a notifier takes its lease back at once instead of waiting it out.
   */
  holder?: string;
  /** How long the delivery lease lasts unless renewed (ms, default 30 s; at least twice the longest receiver timeout): a dead holder's work waits this long. */
  leaseMs?: number;
  /**
   * While holding the lease, read the incidents the store changed this often (ms): for an outbox
   * shared by replicas that each file part of the incidents (only the holder observes). Unset: the
   * incidents `observe()` is given, and the catch-up when the lease is taken.
   */
  pollMs?: number;
}

/** What a flush reads of an incident's links. */
export type CurrentIncident = Pick<IncidentDetail, 'status' | 'consequences'>;

export const DEFAULT_LEASE_MS = 30_000;
/** How far before the high-water mark the catch-up at taking the lease looks again (clock steps, late writers). */
const CATCH_UP_MARGIN_MS = 60_000;
/** How far before the high-water mark each poll looks again: other replicas' clocks and writes in flight. */
const POLL_MARGIN_MS = 10_000;
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
 * a persisted outbox. Notifiers sharing an outbox take turns by its lease: the holder observes,
 * flushes and delivers, renewing the lease as it goes; when it dies, the next one takes over the
 * same groups and deliveries once the lease runs out.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const { outbox, config, kb, log } = options;
  const routes = compileRoutes(config.routes);
  const receivers = new Map<string, Receiver>(config.receivers.map((r) => [r.name, r]));
  const metrics = apiMetrics(options.metrics);
  const deliverer = new Deliverer(outbox, receivers, metrics, log);
  metrics.receivers.set({}, receivers.size);
  const tickMs = options.tickMs ?? 100;
  // An attempt starts only if it ends (answer or timeout) while the lease surely runs, so a
  // successor never sends what this holder may still be sending: a lease of twice the longest timeout.
  const leaseMs = Math.max(options.leaseMs ?? DEFAULT_LEASE_MS, ...config.receivers.map((r) => 2 * r.timeout));
  const holder = options.holder ?? `${hostname()}/${randomUUID().slice(0, 8)}`;
  const incidentUrl = (id: string): string => `${options.publicUrl().replace(/\/+$/, '')}/#/incidents/${encodeURIComponent(id)}`;
  // Entries another names in `consequenceOf`: only their incidents can have consequences to name.
  const causeEntries = new Set(kb.entries.flatMap((e) => e.consequenceOf ?? []));
  const digests = options.risks
    ? createRiskDigests({ outbox, risks: options.risks, routes, receivers, kb, risksUrl: () => `${options.publicUrl().replace(/\/+$/, '')}/#/risks` })
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

  // Changes of the outbox's groups, one at a time: a flush must not interleave with an observe of its group.
  let writing: Promise<unknown> = Promise.resolve();
  function exclusive<T>(write: () => Promise<T>): Promise<T> {
    const next = writing.then(write, write);
    writing = next.catch(() => undefined);
    return next;
  }

  async function flushDue(now: number): Promise<void> {
    const groups = await outbox.dueGroups(now);
    if (groups.length === 0) return;
    const silences = await options.silences();
    // Each incident read once a pass: a cause is looked up once however many groups its consequences are in.
    const read = new Map<string, Promise<CurrentIncident | undefined>>();
    const current = (id: string) => read.get(id) ?? read.set(id, options.incident(id)).get(id)!;
    for (const group of groups) await flush(group, silences, current, now);
  }

  /** The members inhibited by an unresolved cause, and the consequences of the members that are causes, as the store links them at this flush. */
  async function linksOf(members: readonly GroupMember[], current: (id: string) => Promise<CurrentIncident | undefined>) {
    const inhibited = new Set<string>();
    const consequences = new Map<string, IncidentDetail['consequences']>();
    for (const { incident } of members) {
      if (incident.status !== 'resolved' && incident.causedBy !== null) {
        const cause = await current(incident.causedBy);
        if (cause && cause.status !== 'resolved') inhibited.add(incident.id);
      }
      if (causeEntries.has(incident.kbId)) consequences.set(incident.id, (await current(incident.id))?.consequences ?? []);
    }
    return { inhibited, consequences };
  }

  async function flush(group: NotifyGroup, silences: Silence[], current: (id: string) => Promise<CurrentIncident | undefined>, now: number): Promise<void> {
    const receiver = receivers.get(group.receiver);
    const route = routes[group.route];
    const members = await outbox.members(group);
    if (!receiver || !route) {
      // The config changed since: the group has nowhere to go.
      await outbox.commitFlush(group, { deliveries: [], notified: new Map(), remove: members.map((m) => m.incident.id), nextFlushAt: null, sent: false }, now);
      return;
    }
    const sink = sinkOf(receiver);
    const links = await linksOf(members, current);
    const result = flushGroup(group, members, {
      receiverType: receiver.type,
      repeatMs: receiver.type === 'alertmanager' ? Math.min(route.repeat_interval, ALERTMANAGER_REPOST_MS) : route.repeat_interval,
      intervalMs: route.group_interval,
      silences,
      inhibited: links.inhibited,
      consequences: (id) => links.consequences.get(id) ?? [],
      kb: (id) => kb.byId.get(id),
      incidentUrl,
      render: (n) => sink.render(n, receiver),
      now,
    });
    await outbox.commitFlush(group, result, now);
  }

  /** When the lease this notifier holds runs out (0: not held), and when it was last claimed or renewed. */
  let leaseUntil = 0;
  let claimedAt = 0;
  /** Set when the lease is taken: what changed while nobody held it is read from the store first. */
  let catchUpDue = false;
  let polledAt = 0;
  let countedAt = 0;
  let failing: { message: string; loggedAt: number } | undefined;

  /** Takes or renews the lease when due; true while this notifier holds it. */
  async function holdLease(now: number): Promise<boolean> {
    const held = leaseUntil > now;
    // The holder renews four times a lease; the others ask eight times a lease.
    if (now - claimedAt < leaseMs / (held ? 4 : 8)) return held;
    claimedAt = now;
    if (await outbox.claimLease(holder, now, leaseMs)) {
      if (!held) {
        catchUpDue = true;
        log.info({ holder, leaseMs }, 'Took the notification lease: this process now delivers notifications.');
      }
      leaseUntil = now + leaseMs;
    } else {
      if (held) log.warn({ holder }, 'Lost the notification lease to another process; it delivers from now on.');
      leaseUntil = 0;
    }
    metrics.lease.set({}, leaseUntil > 0 ? 1 : 0);
    return leaseUntil > 0;
  }

  /** Observes what the store changed since the high-water mark, less `margin`. */
  async function readChanges(margin: number): Promise<void> {
    const since = (await outbox.highWater(Date.now())) - margin;
    const changed = await options.changedSince(since);
    const count = await exclusive(() => outbox.observe(changed, plan, Date.now()));
    if (catchUpDue && count > 0) log.info({ since: new Date(since).toISOString(), changed: count }, 'Notifier caught up with incidents changed while it did not hold the lease.');
  }

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking: Promise<void> | undefined;
  /** The first claim of the lease after start: `observe()` waits for it. */
  let firstClaim: Promise<unknown> = Promise.resolve();

  async function tick(): Promise<void> {
    const now = Date.now();
    try {
      if (!(await holdLease(now))) return;
      if (catchUpDue) {
        await readChanges(CATCH_UP_MARGIN_MS);
        catchUpDue = false;
        await outbox.prune(now - KEEP_MS);
      } else if (options.pollMs !== undefined && now - polledAt >= options.pollMs) {
        await readChanges(POLL_MARGIN_MS);
        polledAt = now;
      }
      await exclusive(() => flushDue(now));
      await deliverer.attemptDue(now, leaseUntil - leaseMs / 4);
      if (now - countedAt >= 1000) {
        metrics.pending.set({}, await outbox.pendingCount());
        countedAt = now;
      }
      // Last: reading the risks cannot hold up incident notifications; queued digests go next tick.
      await exclusive(async () => digests?.queueDue(now));
      failing = undefined;
    } catch (error) {
      // Once per failure and then every half minute: a store down for minutes is not a log line per tick.
      const message = String(error);
      if (failing?.message !== message || now - failing.loggedAt >= 30_000) {
        log.error({ err: error }, 'The notification loop failed; trying again.');
        failing = { message, loggedAt: now };
      }
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

  return {
    async observe(incidents) {
      if (incidents.length === 0) return;
      await firstClaim;
      // Not the holder: the holder reads these from the store (its catch-up, its polls).
      if (leaseUntil <= Date.now()) return;
      const observed = exclusive(() => outbox.observe(incidents, plan, Date.now())).then((changed) => {
        if (changed > 0 && running && !ticking) schedule(0);
      });
      // Polling, the store is what the holder reads anyway: the caller (a Kafka batch) need not wait
      // for the outbox, and a write that fails is read again by the next poll (the high-water mark
      // moves only with a write that succeeded).
      if (options.pollMs === undefined) return observed;
      observed.catch((error: unknown) => log.warn({ err: error }, 'Observing changed incidents failed; the next poll reads them again.'));
    },
    deliveries: async (incidentId) => outbox.deliveries(incidentId),
    routing: (incident) => ({ receivers: receivers.size, routedTo: [...new Set(plan(incident).map((p) => p.receiver))] }),
    start() {
      if (running) return;
      running = true;
      log.info({ receivers: receivers.size, routes: routes.length }, 'Notifier started.');
      // Without receivers there is nothing to deliver: such a process never takes the lease from one that has them.
      if (receivers.size === 0) return;
      // The first fetch() loads Node's HTTP client (undici) and its body streams: tens of milliseconds
      // of compiling on the event loop, here at start rather than in the middle of the first notification.
      void fetch('data:,')
        .then((res) => res.text())
        .catch(() => undefined);
      firstClaim = holdLease(Date.now()).catch((error: unknown) => log.warn({ err: error }, 'Claiming the notification lease failed; trying again.'));
      void firstClaim.then(() => schedule(0));
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await firstClaim;
      await ticking;
      await deliverer.idle();
      if (leaseUntil > 0) {
        leaseUntil = 0;
        metrics.lease.set({}, 0);
        // The next notifier takes over at once instead of waiting the lease out.
        await outbox.releaseLease(holder).catch((error: unknown) => log.warn({ err: error }, 'Releasing the notification lease failed; it runs out by itself.'));
      }
    },
  };
}
