import { z } from 'zod';
import type { Incident } from './incident.js';

/** What a receiver was told about an incident. */
export const NotificationEvent = z.enum(['trigger', 'update', 'acknowledge', 'resolve']);
export type NotificationEvent = z.infer<typeof NotificationEvent>;

/** Delivery of one notification to one receiver, as shown on the incident. */
export const DeliveryStatus = z.object({
  receiver: z.string(),
  /** Receiver type: slack, webhook, pagerduty, alertmanager. */
  type: z.string(),
  event: NotificationEvent,
  /** pending (queued or retrying), sent, failed (gave up), silenced (matched a silence, not sent). */
  state: z.enum(['pending', 'sent', 'failed', 'silenced']),
  attempts: z.number().int().nonnegative(),
  lastAttemptAt: z.iso.datetime().nullable(),
  sentAt: z.iso.datetime().nullable(),
  lastError: z.string().nullable(),
});
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

/** Where an incident's notifications go: why none was sent, when none was. */
export const NotificationRouting = z.object({
  /** Receivers configured; 0 when FINEPRINT_NOTIFY_CONFIG is unset or names none. */
  receivers: z.number().int().nonnegative(),
  /** The receivers the incident's routes send it to. */
  routedTo: z.array(z.string()),
});
export type NotificationRouting = z.infer<typeof NotificationRouting>;

/**
 * The notifier as the process that owns the incident store uses it (the all-in-one, or the API
 * process in distributed mode).
 */
export interface Notifier {
  /**
   * Incidents whose state may have changed (filed, new occurrence, acknowledged, resolved,
   * re-opened). Compares with what was last notified and queues what is due in the persisted
   * outbox; resolves once that is durable (or at once where the notifier polls the store, which
   * then reads them again). Observing the same state twice queues nothing.
   */
  observe(incidents: readonly Incident[]): Promise<void>;
  /** Deliveries of notifications about this incident, newest first. */
  deliveries(incidentId: string): Promise<DeliveryStatus[]>;
  /** The receivers this incident goes to under the current routes. */
  routing(incident: Incident): NotificationRouting;
  /** Starts the delivery loop (group timers, retries). */
  start(): void;
  /** Stops delivery; pending notifications stay in the outbox for the next start. */
  stop(): Promise<void>;
}

/*
 * The notification outbox: what the notifier persists between "an incident changed" and "a
 * receiver got it". One interface, two adapters: SQLite (the all-in-one's database,
 * store/outbox-sqlite.ts) and Elasticsearch (shared by every API replica of the distributed mode,
 * store/outbox-elasticsearch.ts); test/support/outbox-contract.ts proves both the same.
 */

/** The part of an incident whose change is worth notifying. */
export const notifiedState = (i: Pick<Incident, 'status' | 'count' | 'reopened'>): string => `${i.status}|${i.count}|${i.reopened}`;

/** What the outbox compares to tell an observed incident changed: its notified state and its link (`causedBy`), which a flush reads. */
export const observedState = (i: Pick<Incident, 'status' | 'count' | 'reopened' | 'causedBy'>): string => `${notifiedState(i)}|${i.causedBy ?? ''}`;

/** A group of incidents notified together to one receiver (Alertmanager semantics). */
export interface NotifyGroup {
  id: string;
  receiver: string;
  route: number;
  key: string;
  /** Id of the incident that opened this episode of the group (PagerDuty's dedup_key). */
  episode: string;
  /** When the group's first notification was flushed; null while in group_wait. */
  firstSentAt: number | null;
  lastSentAt: number | null;
  nextFlushAt: number;
}

export interface GroupMember {
  incident: Incident;
  /** What the receiver was last told of this incident (`notifiedState()`), null if never. */
  notified: string | null;
}

/** One planned group membership of an observed incident. */
export interface GroupPlan {
  receiver: string;
  route: number;
  key: string;
  waitMs: number;
  intervalMs: number;
}

/** What a flush of a group writes, at once. */
export interface FlushResult {
  deliveries: Array<{ event: NotificationEvent; type: string; body: string; state: 'pending' | 'silenced'; incidentIds: string[] }>;
  /** New states of the members whose change this flush notified (or recorded as silenced). */
  notified: Map<string, string>;
  /** Members to drop from the group (resolved and notified). */
  remove: string[];
  /** Next flush, or null to delete the group (no member left). */
  nextFlushAt: number | null;
  sent: boolean;
}

/** A queued delivery: one rendered request body for one receiver. */
export interface QueuedDelivery {
  id: string;
  groupKey: string;
  receiver: string;
  type: string;
  event: NotificationEvent;
  body: string;
  attempts: number;
  createdAt: number;
}

/** The risk digest of one route, receiver and host (services/api/notify/risk-digest.ts). */
export interface DigestKey {
  route: number;
  receiver: string;
  host: string;
}

export interface NotificationOutbox {
  /**
   * Claims the delivery lease for `holder` until `now + ms`, or renews it: true when `holder` holds
   * it now. False while another holder's lease runs; an expired lease goes to the first claimant.
   * Only the holder flushes groups and delivers, so a notification goes out once however many
   * notifiers share the outbox.
   */
  claimLease(holder: string, now: number, ms: number): Promise<boolean>;
  /** Gives the lease up at once (a clean stop), if `holder` holds it. */
  releaseLease(holder: string): Promise<void>;
  /** The newest `updatedAt` observed (ms); set to `now` on the very first call, so history is not paged. */
  highWater(now: number): Promise<number>;
  /**
   * Records the incidents whose notifiable state or link changed since last observed (`observedState`;
   * an older read of one changes nothing) and puts each in its groups (`plan`), scheduling the groups' flushes: the first
   * after group_wait, later ones group_interval after the last notification. Returns how many changed.
   */
  observe(incidents: readonly Incident[], plan: (incident: Incident) => GroupPlan[], now: number): Promise<number>;
  /** Groups whose flush is due, soonest first. */
  dueGroups(now: number, limit?: number): Promise<NotifyGroup[]>;
  /** A group's members, by incident id. */
  members(group: NotifyGroup): Promise<GroupMember[]>;
  /**
   * Writes what a flush of `group` (as `dueGroups` returned it) decided: deliveries, member states,
   * the group's next flush. Committing the same flush again queues nothing more.
   */
  commitFlush(group: NotifyGroup, result: FlushResult, now: number): Promise<void>;
  /** When the digest was last queued (ms), undefined if never. */
  digestQueuedAt(digest: DigestKey): Promise<number | undefined>;
  /** Queues one digest delivery and records it as queued now, at once. */
  enqueueDigest(digest: DigestKey, type: string, body: string, now: number): Promise<void>;
  /**
   * Pending deliveries due now, oldest first, at most one per group (a group's notifications go
   * out in order: a resolve never overtakes its trigger). `skip`: ids already in flight.
   */
  due(now: number, skip: ReadonlySet<string>, limit: number): Promise<QueuedDelivery[]>;
  /** Right after the receiver's 2xx: the only window for a repeat is a crash between the two. */
  markSent(id: string, now: number): Promise<void>;
  /** A failed attempt: retry at `retryAt`, or give up (`retryAt` null). */
  markFailed(id: string, now: number, error: string, retryAt: number | null): Promise<void>;
  /** Not attempted (rate limit): try again at `at` without counting an attempt. */
  postpone(id: string, at: number): Promise<void>;
  pendingCount(): Promise<number>;
  /** Deliveries of notifications about this incident, newest first. */
  deliveries(incidentId: string, limit?: number): Promise<DeliveryStatus[]>;
  /** Forgets finished deliveries and quiet resolved incidents older than `before` (ms). */
  prune(before: number): Promise<void>;
}
