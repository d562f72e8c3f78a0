import type { Producer } from 'kafkajs';
import { recordKey } from '../../../shared/event.js';
import { SCHEMA_VERSION_HEADER } from '../../../shared/kafka/consume.js';
import { sendInOrder } from '../../../shared/kafka/produce.js';
import type { RecordBatch } from '../../../shared/transport.js';
import { RECORD_VERSION } from '../../../shared/event.js';

/**
 * Forwards the collector's on-disk buffer to the events topic. The buffer's offset advances only
 * after Kafka acknowledged the batch on all in-sync replicas, so a broker outage loses nothing: the
 * buffer grows (bounded, see FINEPRINT_BUFFER_MAX_RECORDS) and drains when the broker is back.
 */
export function kafkaEventsSink(producer: Producer, topic: string): (batch: RecordBatch) => Promise<void> {
  return async ({ records }) => {
    if (records.length === 0) return;
    await sendInOrder(
      producer,
      topic,
      records.map((record) => ({
        key: recordKey(record),
        value: JSON.stringify(record),
        headers: { [SCHEMA_VERSION_HEADER]: String(RECORD_VERSION) },
      })),
    );
  };
}
