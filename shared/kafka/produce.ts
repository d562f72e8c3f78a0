import type { Message, Producer } from 'kafkajs';

/**
 * Bytes one produce request carries at most. The broker checks its `max.message.bytes` (1 MB by
 * default) against the whole record batch of a partition, i.e. every message of one `send` that
 * lands on that partition: a larger batch is refused every time it is retried, and the stream stops
 * for good (a flood of matching log lines once stalled the classifier this way).
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

const sizeOf = (message: Message): number =>
  (typeof message.value === 'string' ? Buffer.byteLength(message.value) : (message.value?.length ?? 0)) +
  (typeof message.key === 'string' ? Buffer.byteLength(message.key) : (message.key?.length ?? 0));

/**
 * Sends messages in order, in as many requests as it takes to keep each under MAX_REQUEST_BYTES
 * (one after another, so messages of one key keep their order). Resolves once Kafka acknowledged
 * them all on every in-sync replica.
 */
export async function sendInOrder(producer: Producer, topic: string, messages: readonly Message[]): Promise<void> {
  let request: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = sizeOf(message);
    if (request.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      await producer.send({ topic, acks: -1, timeout: 30_000, messages: request });
      request = [];
      bytes = 0;
    }
    request.push(message);
    bytes += size;
  }
  if (request.length > 0) await producer.send({ topic, acks: -1, timeout: 30_000, messages: request });
}
