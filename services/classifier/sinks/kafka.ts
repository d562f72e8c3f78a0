import type { Producer } from 'kafkajs';
import type { IncidentUpdate } from '../../../shared/incident.js';
import { SCHEMA_VERSION_HEADER } from '../../../shared/kafka/consume.js';

/** Updates a message carries at most: well under Kafka's default 1 MB message size. */
const UPDATES_PER_MESSAGE = 200;

/**
 * Writes a batch's incident updates to the incidents topic as ordered messages under one key (the
 * events partition they come from): a retract and the signal it moves evidence into stay together
 * and in order. Resolves once Kafka acknowledged them on all in-sync replicas.
 */
export async function sendIncidentUpdates(producer: Producer, topic: string, key: string, updates: IncidentUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  const messages = [];
  for (let i = 0; i < updates.length; i += UPDATES_PER_MESSAGE) {
    messages.push({
      key,
      value: JSON.stringify({ v: 1, updates: updates.slice(i, i + UPDATES_PER_MESSAGE) }),
      headers: { [SCHEMA_VERSION_HEADER]: '1' },
    });
  }
  await producer.send({ topic, acks: -1, timeout: 30_000, messages });
}
