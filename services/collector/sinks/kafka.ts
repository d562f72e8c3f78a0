import type { Producer } from 'kafkajs';
import { recordKey, RECORD_VERSION, type CollectorRecord } from '../../../shared/event.js';
import { SCHEMA_VERSION_HEADER } from '../../../shared/kafka/consume.js';
import { sendInOrder } from '../../../shared/kafka/produce.js';
import type { Topics } from '../../../shared/kafka/topics.js';
import { RISK_RECORD_VERSION, riskRecordKey } from '../../../shared/risk-record.js';
import type { RecordBatch } from '../../../shared/transport.js';

/**
 * Forwards the collector's on-disk buffer to Kafka: events and facts to the events topic, risk
 * records to the risks topic. The buffer's offset advances only after Kafka acknowledged the batch
 * on all in-sync replicas, so a broker outage loses nothing: the buffer grows (bounded, see
 * FINEPRINT_BUFFER_MAX_RECORDS) and drains when the broker is back.
 */
export function kafkaRecordsSink(producer: Producer, topics: Pick<Topics, 'events' | 'risks'>): (batch: RecordBatch<CollectorRecord>) => Promise<void> {
  return async ({ records }) => {
    const events = records.flatMap((record) =>
      record.type === 'risks' ? [] : [{ key: recordKey(record), value: JSON.stringify(record), headers: { [SCHEMA_VERSION_HEADER]: String(RECORD_VERSION) } }],
    );
    const risks = records.flatMap((record) =>
      record.type === 'risks'
        ? [{ key: riskRecordKey(record.risks), value: JSON.stringify(record.risks), headers: { [SCHEMA_VERSION_HEADER]: String(RISK_RECORD_VERSION) } }]
        : [],
    );
    if (events.length > 0) await sendInOrder(producer, topics.events, events);
    if (risks.length > 0) await sendInOrder(producer, topics.risks, risks);
  };
}
