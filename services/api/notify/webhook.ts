import { createHmac } from 'node:crypto';
import type { Receiver } from './config.js';
import { JSON_HEADERS, type Sink } from './sink.js';

/**
 * Generic webhook: the notification itself as the JSON body (`Notification` in grouping.ts,
 * documented in docs/notifications.md), signed so the receiver can check it came from fineprint and is fresh:
 * `X-Fineprint-Timestamp: <unix seconds>` and
 * `X-Fineprint-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
 */
type WebhookReceiver = Extract<Receiver, { type: 'webhook' }>;

/** The signature header's value for a body sent at `timestamp` (unix seconds). */
function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export const webhookSink: Sink<WebhookReceiver> = {
  render: (n) => JSON.stringify(n),
  request(receiver, body, now) {
    // Signed per attempt: a retry carries a fresh timestamp, so receivers can reject old replays.
    const timestamp = String(Math.floor(now / 1000));
    return {
      url: receiver.url,
      headers: { ...JSON_HEADERS, 'x-fineprint-timestamp': timestamp, 'x-fineprint-signature': webhookSignature(receiver.secret, timestamp, body) },
      body,
    };
  },
};
