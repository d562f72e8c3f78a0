import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { z } from 'zod';
import { precompile } from '../precompile.js';
import { decodeRecord, retryDelayMs, type InvalidRecord, type RecordSource, type SourceHooks } from '../transport.js';

/** The header naming the format version of a message's body. */
export const SCHEMA_VERSION_HEADER = 'fineprint-schema-version';
/** The header of a dead-letter record saying why it was rejected. */
export const DEAD_LETTER_REASON_HEADER = 'fineprint-dead-letter-reason';

export interface KafkaSourceOptions<T> {
  /** The client the consumer is made from (KafkaConnection.kafka). */
  kafka: Kafka;
  /** The consumer group: its members share the topic's partitions, and its offsets are committed. */
  groupId: string;
  /** The topic read, from its committed offsets (from the beginning for a new group). */
  topic: string;
  /** What a valid record is; the others go to `onInvalid`. */
  schema: z.ZodType<T>;
  /** Sees the consumer before it joins its group (the classifier rewinds assigned partitions). */
  onConsumer?: (consumer: Consumer) => void;
  /** How long the group waits for a silent member before reassigning its partitions (FINEPRINT_KAFKA_SESSION_TIMEOUT). */
  sessionTimeoutMs: number;
}

/** A Kafka topic as a RecordSource: one stream per partition (`<topic>/<partition>`). */
export interface KafkaRecordSource<T> extends RecordSource<T> {
  /** Whether the consumer is in its group (health). */
  readonly consuming: boolean;
}

/**
 * Reads a topic from its committed offsets (from the beginning for a new group), one batch of a
 * partition at a time, with the transport contract of RecordSource (see shared/transport.ts).
 */
export function kafkaSource<T>(options: KafkaSourceOptions<T>, hooks: SourceHooks): KafkaRecordSource<T> {
  const { topic, schema } = options;
  precompile(schema);
  const { sessionTimeoutMs } = options;
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: sessionTimeoutMs,
    // Three heartbeats a session, as Kafka advises: one lost heartbeat does not cost the partitions.
    heartbeatInterval: Math.floor(sessionTimeoutMs / 3),
    // A live member busy with a batch rejoins a rebalance at its next heartbeat; past this it is dropped.
    rebalanceTimeout: Math.max(30_000, 3 * sessionTimeoutMs),
    maxWaitTimeInMs: 500,
  });
  let consuming = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (consuming = true));
  // kafkajs logs the crash (through createKafka's logger) and restarts the consumer.
  consumer.on(consumer.events.CRASH, () => (consuming = false));
  options.onConsumer?.(consumer);

  return {
    get consuming() {
      return consuming;
    },
    async run(handler) {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          if (batch.messages.length === 0) return;
          const stream = `${batch.topic}/${batch.partition}`;
          const records: T[] = [];
          const invalid: InvalidRecord[] = [];
          for (const message of batch.messages) {
            const decoded = decodeRecord(schema, message.value);
            if (decoded.ok) records.push(decoded.value);
            else invalid.push({ reason: decoded.reason, origin: `${stream}/${message.offset}`, key: message.key, value: message.value });
          }
          for (let attempt = 0; ; attempt += 1) {
            if (!isRunning() || isStale()) return;
            try {
              if (invalid.length > 0) await hooks.onInvalid(invalid);
              if (records.length > 0) await handler({ records, stream });
              break;
            } catch (error) {
              const delayMs = retryDelayMs(attempt);
              hooks.onError(error, { attempt, delayMs });
              await heartbeat();
              await new Promise((resolve) => setTimeout(resolve, delayMs));
            }
          }
          const last = batch.messages.at(-1) as KafkaMessage;
          // resolveOffset moves the fetch position; commitOffsets makes it survive a restart.
          resolveOffset(last.offset);
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
        },
      });
    },
    async stop() {
      consuming = false;
      await consumer.disconnect();
    },
  };
}
