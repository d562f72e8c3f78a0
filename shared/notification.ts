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
   * outbox; resolves once that is durable. Observing the same state twice queues nothing.
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
