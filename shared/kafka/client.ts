import { Kafka, logLevel, Partitioners, type Admin, type ICustomPartitioner, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from '../log.js';
import { retryDelayMs } from '../transport.js';
import type { KafkaSettings } from './config.js';
import { ensureTopics, topicNames, type Topics } from './topics.js';
import './request-queue-idle.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose logs go through fineprint's logger (warnings and errors only). */
export function createKafka(brokers: string[], clientId: string, log: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    // Retries inside kafkajs are short; fineprint's own loops retry for as long as it takes.
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[LEVELS[level] ?? 'info']({ kafka: rest }, `kafka: ${message}`);
      },
  });
}

/** Keys whose partition is remembered; past this the memory starts over (a fleet's containers come and go). */
const REMEMBERED_KEYS = 100_000;

/**
 * kafkajs' default partitioner (murmur2 of the key, as the Java client: the same key lands on the
 * same partition as before), remembering the partition of each key. kafkajs computes murmur2 with
 * 64-bit Long objects, about a microsecond a message; the keys (host + container) repeat.
 */
export const rememberingPartitioner: ICustomPartitioner = () => {
  const partitionOf = Partitioners.DefaultPartitioner();
  const remembered = new Map<string, number>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    if (typeof message.key !== 'string' || (message.partition !== undefined && message.partition !== null)) return partitionOf(args);
    const key = `${topic}/${partitionMetadata.length}/${message.key}`;
    let partition = remembered.get(key);
    if (partition === undefined) {
      if (remembered.size >= REMEMBERED_KEYS) remembered.clear();
      partition = partitionOf(args);
      remembered.set(key, partition);
    }
    return partition;
  };
};

/** A service's connection to Kafka, once the brokers answered and its topics exist. */
export interface KafkaConnection {
  kafka: Kafka;
  topics: Topics;
  /** Connected; sends wait for every in-sync replica (see sendInOrder). */
  producer: Producer;
  /** Connected (offsets by time, committed offsets). */
  admin: Admin;
  /** Disconnects the producer and the admin client. */
  close(): Promise<void>;
}

/**
 * Connects a service to Kafka: creates the topics that are missing (with the configured partitions
 * and retention) and connects a producer, retrying with backoff for as long as the brokers do not
 * answer (a service started before its broker waits for it) or until `signal` aborts.
 */
export async function connectKafka(config: KafkaSettings, clientId: string, log: Logger, signal?: AbortSignal): Promise<KafkaConnection> {
  const kafka = createKafka(config.FINEPRINT_KAFKA_BROKERS, clientId, log);
  const topics = topicNames(config.FINEPRINT_KAFKA_TOPIC_PREFIX);
  for (let attempt = 0; ; attempt += 1) {
    signal?.throwIfAborted();
    const admin = kafka.admin();
    // A partitioner named (kafkajs' default since 2.0, remembered), so kafkajs does not warn at every start.
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: rememberingPartitioner });
    try {
      await admin.connect();
      await ensureTopics(admin, topics, { partitions: config.FINEPRINT_KAFKA_PARTITIONS, retentionMs: config.FINEPRINT_KAFKA_RETENTION_HOURS * 3_600_000 });
      await producer.connect();
      return {
        kafka,
        topics,
        producer,
        admin,
        async close() {
          await producer.disconnect().catch(() => undefined);
          await admin.disconnect().catch(() => undefined);
        },
      };
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      const delayMs = retryDelayMs(attempt);
      log.warn({ err: error, attempt, delayMs, brokers: config.FINEPRINT_KAFKA_BROKERS }, 'Kafka is not reachable yet; retrying.');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
}
