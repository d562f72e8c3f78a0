import type { Logger } from '../../../shared/log.js';
import type { ApiMetrics } from '../../../shared/metrics.js';
import type { Receiver, ReceiverType } from './config.js';
import type { NotificationOutbox, QueuedDelivery } from '../../../shared/notification.js';
import { alertmanagerSink } from './alertmanager.js';
import { pagerdutySink } from './pagerduty.js';
import type { Sink } from './sink.js';
import { slackSink } from './slack.js';
import { webhookSink } from './webhook.js';

/**
 * Sends what the outbox holds: per-request timeouts, per-receiver rate limits, retries with
 * exponential backoff and jitter, and the outcome written back right after each response.
 */

const SINKS: { [T in ReceiverType]: Sink<Extract<Receiver, { type: T }>> } = {
  slack: slackSink,
  webhook: webhookSink,
  pagerduty: pagerdutySink,
  alertmanager: alertmanagerSink,
};

export const sinkOf = (receiver: Receiver): Sink => SINKS[receiver.type] as Sink;

/**
 * One request of a rendered notification to its receiver, bounded by the receiver's timeout (a
 * timeout or network failure rejects). Redirects are refused: a receiver URL is an exact endpoint.
 */
export async function sendOnce(receiver: Receiver, body: string, now: number): Promise<{ res: Response; text: string }> {
  const request = sinkOf(receiver).request(receiver, body, now);
  const res = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(receiver.timeout), redirect: 'error' });
  return { res, text: await res.text().catch(() => '') };
}

export type DeliveryMetrics = Pick<ApiMetrics, 'sent' | 'failed' | 'delivery'>;

/** Requests in flight at once, over all receivers: a hanging receiver must not block the others. */
const MAX_IN_FLIGHT = 8;
const MINUTE = 60_000;

/** Exponential backoff with "equal jitter": half the delay fixed, half random, so retries spread out. */
function backoffMs(attempts: number, retry: Receiver['retry']): number {
  const delay = Math.min(retry.max, retry.initial * 2 ** Math.max(0, attempts - 1));
  return Math.round(delay / 2 + Math.random() * (delay / 2));
}

/** 4xx other than timeout and rate limiting: the request itself is wrong, a retry would fail again. */
const permanent = (status: number): boolean => status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429;

export class Deliverer {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Deliveries a receiver took (id -> when) whose `sent` the outbox did not take yet: never sent again. */
  private readonly unrecorded = new Map<string, number>();
  /** Request times of the last minute per receiver, for the rate limit. */
  private readonly recent = new Map<string, number[]>();

  constructor(
    private readonly outbox: NotificationOutbox,
    private readonly receivers: ReadonlyMap<string, Receiver>,
    private readonly metrics: DeliveryMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * Starts the attempts that are due and can end (answer or time out) by `deadline`, while this
   * notifier still holds the delivery lease; does not wait for them.
   */
  async attemptDue(now: number, deadline: number): Promise<void> {
    for (const [id, sentAt] of this.unrecorded) {
      await this.outbox.markSent(id, sentAt);
      this.unrecorded.delete(id);
    }
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (room <= 0) return;
    for (const row of await this.outbox.due(now, new Set([...this.inFlight.keys(), ...this.unrecorded.keys()]), room)) {
      const receiver = this.receivers.get(row.receiver);
      if (!receiver) {
        await this.outbox.markFailed(row.id, now, `receiver ${row.receiver} is no longer configured`, null);
        continue;
      }
      if (now + receiver.timeout > deadline) continue;
      const window = (this.recent.get(receiver.name) ?? []).filter((t) => t > now - MINUTE);
      this.recent.set(receiver.name, window);
      if (window.length >= receiver.rate_limit) {
        await this.outbox.postpone(row.id, window[0]! + MINUTE);
        continue;
      }
      window.push(now);
      const attempt = this.attempt(row, receiver)
        .catch((error: unknown) => this.log.error({ err: error, receiver: receiver.name }, 'Recording the outcome of a delivery failed.'))
        .finally(() => this.inFlight.delete(row.id));
      this.inFlight.set(row.id, attempt);
    }
  }

  /** Waits for the attempts in flight (each bounded by its receiver's timeout). */
  async idle(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  private async attempt(row: QueuedDelivery, receiver: Receiver): Promise<void> {
    let error: string;
    let retryAfterMs: number | undefined;
    let giveUp = false;
    let reason: string;
    let sentAt: number | undefined;
    try {
      const { res, text } = await sendOnce(receiver, row.body, Date.now());
      if (res.ok) sentAt = Date.now();
      error = `HTTP ${res.status}: ${text.slice(0, 300)}`;
      reason = `http_${Math.floor(res.status / 100)}xx`;
      giveUp = permanent(res.status);
      const retryAfter = Number(res.headers.get('retry-after'));
      if (res.status === 429 && Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000;
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      error = timedOut ? `no response within ${receiver.timeout} ms` : `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}`;
      reason = timedOut ? 'timeout' : 'network';
    }
    if (sentAt !== undefined) {
      this.metrics.sent.inc({ receiver_type: receiver.type });
      this.metrics.delivery.observe({ receiver_type: receiver.type }, Math.max(0, sentAt - row.createdAt) / 1000);
      // Kept until the outbox has it: a store that fails now is asked again on the next tick.
      this.unrecorded.set(row.id, sentAt);
      await this.outbox.markSent(row.id, sentAt);
      this.unrecorded.delete(row.id);
      return;
    }
    const now = Date.now();
    this.metrics.failed.inc({ receiver_type: receiver.type, reason });
    const retryAt = now + Math.min(receiver.retry.max, retryAfterMs ?? backoffMs(row.attempts + 1, receiver.retry));
    if (giveUp || retryAt > row.createdAt + receiver.retry.give_up_after) {
      await this.outbox.markFailed(row.id, now, error, null);
      this.log.error({ receiver: receiver.name, event: row.event, attempts: row.attempts + 1, error }, 'Gave up delivering a notification.');
    } else {
      await this.outbox.markFailed(row.id, now, error, retryAt);
      this.log.warn({ receiver: receiver.name, event: row.event, attempts: row.attempts + 1, error, retryInMs: retryAt - now }, 'Delivering a notification failed; retrying.');
    }
  }
}
