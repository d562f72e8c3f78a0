import type { Producer } from 'kafkajs';
import { DEAD_LETTER_REASON_HEADER, type Rejected } from './consume.js';

/** Sends rejected records to the dead-letter topic as they were, with the reason and origin in headers. */
export async function sendToDeadLetter(producer: Producer, topic: string, from: { topic: string; partition: number }, rejected: Rejected[]): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: rejected.map(({ message, reason }) => ({
      key: message.key,
      value: message.value,
      headers: {
        [DEAD_LETTER_REASON_HEADER]: reason,
        'fineprint-origin': `${from.topic}/${from.partition}/${message.offset}`,
      },
    })),
  });
}
