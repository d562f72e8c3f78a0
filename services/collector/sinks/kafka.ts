import type { Message, Producer } from 'kafkajs';
import type { StoredRecord } from '../../../shared/embedded-queue.js';
import { RECORD_VERSION } from '../../../shared/event.js';
import { SCHEMA_VERSION_HEADER } from '../../../shared/kafka/consume.js';
import { sendInOrder } from '../../../shared/kafka/produce.js';
import type { Topics } from '../../../shared/kafka/topics.js';
import { RISK_RECORD_VERSION, type RiskRecord, riskRecordKey } from '../../../shared/risk-record.js';
import type { RecordBatch } from '../../../shared/transport.js';

/** How the buffer's sink writes every record (JSON.stringify of `{ type, ... }`): the type comes first. */
const TYPED = '{"type":"';
const RISKS = '{"type":"risks"';

/**
 * Forwards the collector's on-disk buffer to Kafka: events and facts to the events topic as the
 * bytes the buffer holds (never parsed again: the classifier checks them where they enter it), risk
 * records to the risks topic. The buffer's offset advances only after Kafka acknowledged the batch
 * on all in-sync replicas, so a broker outage loses nothing: the buffer grows (bounded, see
 * FINEPRINT_BUFFER_MAX_RECORDS) and drains when the broker is back.
 */
export function kafkaRecordsSink(producer: Producer, topics: Pick<Topics, 'events' | 'risks'>): (batch: RecordBatch<StoredRecord>) => Promise<void> {
  const eventHeaders = { [SCHEMA_VERSION_HEADER]: String(RECORD_VERSION) };
  const riskHeaders = { [SCHEMA_VERSION_HEADER]: String(RISK_RECORD_VERSION) };
  return async ({ records }) => {
    const events: Message[] = [];
    const risks: Message[] = [];
    for (const { key, body } of records) {
      const risk = body.startsWith(TYPED) ? (body.startsWith(RISKS) ? riskOf(body) : undefined) : riskOf(body);
      if (risk) risks.push({ key: riskRecordKey(risk), value: JSON.stringify(risk), headers: riskHeaders });
      // What is not JSON goes on too: the classifier sends it to the dead-letter topic with the reason.
      else events.push({ key, value: body, headers: eventHeaders });
    }
    if (events.length > 0) await sendInOrder(producer, topics.events, events);
    if (risks.length > 0) await sendInOrder(producer, topics.risks, risks);
  };
}

/** The risk record of a body, if it holds one (rare: an audit's findings). */
function riskOf(body: string): RiskRecord | undefined {
  try {
    const record = JSON.parse(body) as { type?: unknown; risks?: RiskRecord };
    return record.type === 'risks' ? record.risks : undefined;
  } catch {
    return undefined;
  }
}
