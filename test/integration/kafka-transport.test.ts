// The transport contract against a real Kafka broker (scripts/services/kafka.sh), through the
// production pieces: connectKafka, the collector's Kafka sink and kafkaSource.
import { randomBytes } from 'node:crypto';
import { storedRecord } from '../../shared/embedded-queue.js';
import { CollectorRecord } from '../../shared/event.js';
import { connectKafka, type KafkaConnection } from '../../shared/kafka/client.js';
import { kafkaConfig } from '../../shared/kafka/config.js';
import { kafkaSource } from '../../shared/kafka/consume.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { kafkaRecordsSink } from '../../services/collector/sinks/kafka.js';
import { transportContract } from '../support/transport-contract.js';

const brokers = process.env.FINEPRINT_KAFKA_BROKERS;
if (!brokers) throw new Error('FINEPRINT_KAFKA_BROKERS is not set: run `bash scripts/services/kafka.sh start` and eval its `env`');
const log = createLogger('fineprint-test', 'fatal');

async function deleteTopics(connection: KafkaConnection): Promise<void> {
  await connection.admin.deleteTopics({ topics: Object.values(connection.topics) });
  await connection.close();
}

transportContract(
  'Kafka',
  async () => {
    // A topic prefix per test, with one partition: the contract's records and raw bodies share a stream.
    const prefix = `fp-test-${randomBytes(4).toString('hex')}`;
    const config = loadConfig(kafkaConfig, { FINEPRINT_KAFKA_BROKERS: brokers, FINEPRINT_KAFKA_TOPIC_PREFIX: prefix, FINEPRINT_KAFKA_PARTITIONS: '1' });
    const connection = await connectKafka(config, 'fineprint-transport-contract', log);
    const { producer, topics } = connection;
    const forward = kafkaRecordsSink(producer, topics);
    return {
      send: (records) => forward({ records: records.map(storedRecord), stream: 'contract' }),
      sendRaw: async (bodies) => {
        await producer.send({ topic: topics.events, acks: -1, messages: bodies.map((value) => ({ key: 'contract', value })) });
      },
      source: (hooks) => kafkaSource({ kafka: connection.kafka, groupId: `${prefix}-contract`, topic: topics.events, schema: CollectorRecord, sessionTimeoutMs: 10_000 }, hooks),
      close: () => deleteTopics(connection),
    };
  },
  60_000,
);
