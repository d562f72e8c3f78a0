import type { Producer } from 'kafkajs';
import type { IncidentUpdate } from '../../../shared/incident.js';
import { SCHEMA_VERSION_HEADER } from '../../../shared/kafka/consume.js';
import { MAX_REQUEST_BYTES, sendInOrder } from '../../../shared/kafka/produce.js';

/** Updates a message carries at most (the incidents topic's schema allows 1000). */
const UPDATES_PER_MESSAGE = 200;
const ENVELOPE_BYTES = '{"v":1,"updates":[]}'.length;

/**
 * Writes a batch's incident updates to the incidents topic as ordered messages under one key (the
 * events partition they come from): a retract and the signal it moves evidence into stay together
 * and in order. Each message stays under the request size limit too (updates carry container
 * facts). Resolves once Kafka acknowledged them on all in-sync replicas.
 */
export async function sendIncidentUpdates(producer: Producer, topic: string, key: string, updates: readonly IncidentUpdate[]): Promise<void> {
  const headers = { [SCHEMA_VERSION_HEADER]: '1' };
  const messages: { key: string; value: string; headers: typeof headers }[] = [];
  let chunk: string[] = [];
  let bytes = ENVELOPE_BYTES;
  const close = () => {
    if (chunk.length > 0) messages.push({ key, value: `{"v":1,"updates":[${chunk.join(',')}]}`, headers });
    chunk = [];
    bytes = ENVELOPE_BYTES;
  };
  for (const update of updates) {
    const json = JSON.stringify(update);
    const size = Buffer.byteLength(json) + 1;
    if (chunk.length === UPDATES_PER_MESSAGE || bytes + size > MAX_REQUEST_BYTES) close();
    chunk.push(json);
    bytes += size;
  }
  close();
  await sendInOrder(producer, topic, messages);
}
