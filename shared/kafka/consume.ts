import type { Consumer, KafkaMessage } from 'kafkajs';
import type { z } from 'zod';
import type { Logger } from '../log.js';

export const SCHEMA_VERSION_HEADER = 'fineprint-schema-version';
export const DEAD_LETTER_REASON_HEADER = 'fineprint-dead-letter-reason';

/** A record that failed validation, sent to the dead-letter topic with its reason. */
export interface Rejected {
  message: KafkaMessage;
  reason: string;
}

export interface ValidBatch<T> {
  topic: string;
  partition: number;
  records: { key: string; value: T }[];
}

/** Parses and validates a message; the reason says what is wrong, for the dead-letter topic. */
export function decode<T>(schema: z.ZodType<T>, message: KafkaMessage): { ok: true; value: T } | { ok: false; reason: string } {
  if (!message.value) return { ok: false, reason: 'empty message' };
  let raw: unknown;
  try {
    raw = JSON.parse(message.value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, value: parsed.data };
}

/**
 * Runs a consumer at least once: each batch's valid records go to `handle`, invalid ones to
 * `reject`; offsets are committed only after both resolved (their writes are durable). A failing
 * handler is retried with backoff on the same batch, never skipped.
 */
export async function consumeAtLeastOnce<T>(
  consumer: Consumer,
  schema: z.ZodType<T>,
  handlers: { handle: (batch: ValidBatch<T>) => Promise<void>; reject: (rejected: Rejected[], from: { topic: string; partition: number }) => Promise<void> },
  log: Logger,
): Promise<void> {
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
      if (batch.messages.length === 0) return;
      const records: { key: string; value: T }[] = [];
      const rejected: Rejected[] = [];
      for (const message of batch.messages) {
        const decoded = decode(schema, message);
        if (decoded.ok) records.push({ key: message.key?.toString('utf8') ?? '', value: decoded.value });
        else rejected.push({ message, reason: decoded.reason });
      }
      for (let attempt = 0; ; attempt += 1) {
        if (!isRunning() || isStale()) return;
        try {
          if (rejected.length > 0) await handlers.reject(rejected, { topic: batch.topic, partition: batch.partition });
          if (records.length > 0) await handlers.handle({ topic: batch.topic, partition: batch.partition, records });
          break;
        } catch (error) {
          const delay = Math.min(10_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
          log.error({ err: error, topic: batch.topic, partition: batch.partition, attempt, delayMs: Math.round(delay) }, 'Handling a batch failed; retrying it.');
          await heartbeat();
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
      const last = batch.messages.at(-1) as KafkaMessage;
      // resolveOffset moves the fetch position; commitOffsets makes it survive a restart.
      resolveOffset(last.offset);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
    },
  });
}
