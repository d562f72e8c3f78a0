import type { Message, Producer, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { storedRecord } from '../../shared/embedded-queue.js';
import { RECORD_VERSION, type CollectorRecord } from '../../shared/event.js';
import { RISK_RECORD_VERSION, riskRecordKey, type RiskRecord } from '../../shared/risk-record.js';
import { kafkaRecordsSink } from '../../services/collector/sinks/kafka.js';

const ID = 'a'.repeat(64);
const event: CollectorRecord = {
  type: 'event',
  event: { v: RECORD_VERSION, id: 'e1', host: 'h', kind: 'log', source: 'container-logs', ts: 1, message: 'No space left on device', container: { id: ID } },
};
const risks: RiskRecord = { v: RISK_RECORD_VERSION, scope: 'present', host: 'h', observedAt: 2, containers: [ID] };

/** A producer that records what it was asked to send. */
function recordingProducer(): { producer: Producer; sent: { topic: string; messages: Message[] }[] } {
  const sent: { topic: string; messages: Message[] }[] = [];
  const producer = { send: async ({ topic, messages }: ProducerRecord) => void sent.push({ topic, messages }) } as unknown as Producer;
  return { producer, sent };
}

describe('the collector forwarding its buffer to Kafka', () => {
  it('sends events as the bytes the buffer holds, and risk records to their own topic', async () => {
    const { producer, sent } = recordingProducer();
    const forward = kafkaRecordsSink(producer, { events: 'events', risks: 'risks' });
    const stored = [storedRecord(event), storedRecord({ type: 'risks', risks })];
    // A body whose type is not first (written by hand, or by another version) is still routed by its type.
    const reordered = { key: riskRecordKey(risks), body: JSON.stringify({ risks, type: 'risks' }) };
    await forward({ records: [...stored, reordered], stream: 'kafka' });

    expect(sent.map((s) => [s.topic, s.messages.length])).toEqual([
      ['events', 1],
      ['risks', 2],
    ]);
    expect(sent[0]?.messages[0]).toMatchObject({ key: stored[0]?.key, value: stored[0]?.body });
    for (const message of sent[1]?.messages ?? []) expect(message).toMatchObject({ key: riskRecordKey(risks), value: JSON.stringify(risks) });
  });

  it('sends a body that is not JSON on to the events topic, where the classifier dead-letters it', async () => {
    const { producer, sent } = recordingProducer();
    await kafkaRecordsSink(producer, { events: 'events', risks: 'risks' })({ records: [{ key: 'k', body: '{"type":"risks",' }], stream: 'kafka' });
    expect(sent).toEqual([{ topic: 'events', messages: [expect.objectContaining({ key: 'k', value: '{"type":"risks",' })] }]);
  });
});
