import type { Producer } from 'kafkajs';
import type { InvalidRecord } from '../transport.js';
import { DEAD_LETTER_REASON_HEADER } from './consume.js';

/** Sends invalid records to the dead-letter topic as they were, with the reason and origin in headers. */
export async function sendToDeadLetter(producer: Producer, topic: string, invalid: readonly InvalidRecord[]): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: invalid.map(({ key, value, reason, origin }) => ({
      key,
      value,
      headers: { [DEAD_LETTER_REASON_HEADER]: reason, 'fineprint-origin': origin },
    })),
  });
}
