import type { CollectorRecord } from './event.js';

/**
 * Where a collector writes. `send` resolves only once the records are durable (committed to the
 * embedded queue, or acknowledged by Kafka), so a source may advance its cursor after it.
 */
export interface RecordSink {
  send(records: CollectorRecord[]): Promise<void>;
}

/** A batch delivered to the classifier; `offset` is opaque to the handler. */
export interface RecordBatch {
  records: CollectorRecord[];
}

/**
 * Where a classifier reads. Delivery is at least once: the handler's promise must resolve only
 * after its own writes are durable; the offset is committed after that.
 */
export interface RecordSource {
  run(handler: (batch: RecordBatch) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** Persisted positions of the collector's sources (docker events time, kmsg sequence, log times). */
export interface CursorStore {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
}
