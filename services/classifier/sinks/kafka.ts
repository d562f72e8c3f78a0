import type { Producer } from 'kafkajs';
import type { IncidentUpdate } from '../../../shared/incident.js';
import { SCHEMA_VERSION_HEADER } from '../../../shared/kafka/consume.js';

/** Updates a message carries at most (the incidents topic's schema allows 1000). */
const UPDATES_PER_MESSAGE = 200;
/**
 * Bytes of JSON a message and a produce request carry at most. Kafka checks its default 1 MB
 * `max.message.bytes` against the whole record batch of a partition, i.e. every message of one
 * `send` under one key: a flood of matching records (one update each, with container facts) once
 * made a batch of several MB that the broker refused forever, stalling the partition.
 */
const MAX_BYTES = 512 * 1024;
const ENVELOPE_BYTES = '{"v":1,"updates":[]}'.length;

/**
 * Writes a batch's incident updates to the incidents topic as ordered messages under one key (the
 * events partition they come from): a retract and the signal it moves evidence into stay together
 * and in order. Resolves once Kafka acknowledged them on all in-sync replicas.
 */
export async function sendIncidentUpdates(producer: Producer, topic: string, key: string, updates: readonly IncidentUpdate[]): Promise<void> {
  const headers = { [SCHEMA_VERSION_HEADER]: '1' };
  let messages: { key: string; value: string; headers: typeof headers }[] = [];
  let requestBytes = 0;
  const send = async () => {
    if (messages.length === 0) return;
    await producer.send({ topic, acks: -1, timeout: 30_000, messages });
    messages = [];
    requestBytes = 0;
  };
  let chunk: string[] = [];
  /** UTF-8 bytes of the chunk's updates, plus the envelope's. */
  let chunkBytes = ENVELOPE_BYTES;
  const close = async () => {
    if (chunk.length === 0) return;
    const value = `{"v":1,"updates":[${chunk.join(',')}]}`;
    // One request after another: the same key keeps one partition, and awaiting keeps the order.
    if (requestBytes + chunkBytes > MAX_BYTES) await send();
    messages.push({ key, value, headers });
    requestBytes += chunkBytes;
    chunk = [];
    chunkBytes = ENVELOPE_BYTES;
  };
  for (const update of updates) {
    const json = JSON.stringify(update);
    const bytes = Buffer.byteLength(json) + 1;
    if (chunk.length === UPDATES_PER_MESSAGE || chunkBytes + bytes > MAX_BYTES) await close();
    chunk.push(json);
    chunkBytes += bytes;
  }
  await close();
  await send();
}
