import type { z } from 'zod';
import type { CollectorRecord } from './event.js';
import { formatIssues } from './zod-issues.js';

/**
 * Where a collector writes. `send` resolves only once the records are durable (committed to the
 * embedded queue, or acknowledged by Kafka), so a source may advance its cursor after it.
 */
export interface RecordSink {
  send(records: CollectorRecord[]): Promise<void>;
}

/** Valid records delivered to a consumer's handler. */
export interface RecordBatch<T> {
  /** In the order they were written within `stream`. */
  records: T[];
  /**
   * The ordered stream the batch comes from (a Kafka topic partition; the embedded queue is one
   * stream): what a handler writes under this key keeps the order of what it read.
   */
  stream: string;
}

/** A record that failed validation: reported, never delivered, never blocking the records after it. */
export interface InvalidRecord {
  /** What is wrong with it, field by field. */
  reason: string;
  /** Where it was: `<topic>/<partition>/<offset>`, or `<queue>/<offset>` in the embedded queue. */
  origin: string;
  /** Its key as it was written. */
  key: Buffer | null;
  /** Its body as it was written. */
  value: Buffer | null;
}

export interface SourceHooks {
  /** Takes the invalid records of a batch (a log line, the dead-letter topic); the offset moves past them once it resolved. */
  onInvalid(records: InvalidRecord[]): Promise<void>;
  /** Handling a batch failed (the store or the broker is unavailable): it is delivered again after `delayMs`. */
  onError(error: unknown, retry: { attempt: number; delayMs: number }): void;
}

/**
 * Where a consumer reads (the embedded queue, or a Kafka topic). Delivery is at least once: a
 * batch's offset is committed only after the handler and `onInvalid` resolved, so the handler must
 * resolve only once its own writes are durable; a batch whose handler failed is delivered again,
 * after `retryDelayMs`, never skipped.
 */
export interface RecordSource<T> {
  /** Starts delivering to `handler`; resolves once delivery has started. */
  run(handler: (batch: RecordBatch<T>) => Promise<void>): Promise<void>;
  /** Stops delivering; resolves once the batch in hand (if any) is settled. */
  stop(): Promise<void>;
}

/**
 * The wait before attempt `attempt + 1` of anything that failed against a store or a broker:
 * exponential from 0.5 s up to 10 s, jittered (halved at random) so that the consumers of a
 * recovering broker do not all retry at once.
 */
export function retryDelayMs(attempt: number): number {
  return Math.round(Math.min(10_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2));
}

/** Parses and validates a record's body; the reason says what is wrong, field by field. */
export function decodeRecord<T>(schema: z.ZodType<T>, body: Buffer | null): { ok: true; value: T } | { ok: false; reason: string } {
  if (!body || body.length === 0) return { ok: false, reason: 'empty record' };
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, reason: formatIssues(parsed.error.issues.slice(0, 5), '(record)').join('; ') };
  }
  return { ok: true, value: parsed.data };
}

/** Persisted positions of the collector's sources (docker events time, kmsg sequence, log times). */
export interface CursorStore {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
  /** Forgets a cursor (of something that no longer exists). */
  delete(name: string): void;
  /** Names of the cursors starting with `prefix`. */
  names(prefix: string): string[];
}
