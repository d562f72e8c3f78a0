// Raw access to the test run's Kafka topics: read every record of a topic, write records as they are.
import { Kafka, logLevel, type IHeaders, type Message } from 'kafkajs';

export interface TopicRecord {
  partition: number;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

function client(): Kafka {
  const brokers = (process.env.FINEPRINT_KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  return new Kafka({ clientId: 'fineprint-test', brokers, logLevel: logLevel.NOTHING });
}

function headerText(headers: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)]));
}

/** Every topic whose name starts with `prefix.` */
export async function topicsWithPrefix(prefix: string): Promise<string[]> {
  const admin = client().admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  } finally {
    await admin.disconnect();
  }
}

/** Every record in `topic` now, from the first offset to the high watermark of each partition. */
export async function readTopic(topic: string): Promise<TopicRecord[]> {
  const kafka = client();
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
  const records: TopicRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `fineprint-test-reader-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`reading ${topic} took over 60 s`)), 60_000);
    void consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          records.push({ partition, key: message.key?.toString('utf8') ?? '', value: message.value ?? Buffer.alloc(0), headers: headerText(message.headers) });
          const high = remaining.get(partition);
          if (high !== undefined && BigInt(message.offset) + 1n >= high) remaining.delete(partition);
          if (remaining.size === 0) {
            clearTimeout(deadline);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return records;
}

/** Writes records to `topic` as given (no validation): how garbage gets onto a topic. */
export async function produceRaw(topic: string, messages: Message[]): Promise<void> {
  const producer = client().producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}
