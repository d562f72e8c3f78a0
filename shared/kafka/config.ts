import { z } from 'zod';
import { Duration } from '../kb/schema.js';

/** Settings every distributed service shares (docs/fleet-install.md, docs/configuration.md). */
export const kafkaConfig = {
  FINEPRINT_KAFKA_BROKERS: z
    .string()
    .min(1)
    .transform((v) => v.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1))
    .describe('Distributed mode: bootstrap brokers, comma-separated `host:port` pairs, e.g. `10.0.0.5:9092,10.0.0.6:9092`.'),
  FINEPRINT_KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/)
    .default('fineprint')
    .describe('Topic names start with this: `<prefix>.events.v1`, `<prefix>.incidents.v1`, `<prefix>.risks.v1`, `<prefix>.dead-letter.v1`.'),
  FINEPRINT_KAFKA_PARTITIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(6)
    .describe('Partitions of the topics fineprint creates when they do not exist: the most classifiers that can work in parallel.'),
  FINEPRINT_KAFKA_RETENTION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(8760)
    .default(72)
    .describe('Retention of the topics fineprint creates, in hours: how far back a replay or a restarted service can read.'),
  FINEPRINT_KAFKA_SESSION_TIMEOUT: Duration.pipe(z.number().min(6_000, 'at least 6s (the broker refuses less)').max(300_000, 'at most 5m'))
    .prefault('10s')
    .describe(
      "Consumer group session of the classifiers and API replicas: a member that stops heartbeating (killed, host lost) keeps its partitions this long before the others take them over, and a restarted member waits this long to consume again. Longer tolerates longer pauses; the broker's `group.min.session.timeout.ms` (6s by default) is the floor.",
    ),
};
/** The parsed `kafkaConfig` settings. */
export type KafkaSettings = z.output<z.ZodObject<typeof kafkaConfig>>;

export const elasticsearchConfig = {
  FINEPRINT_ELASTICSEARCH_URL: z.url().describe('Elasticsearch URL, e.g. `http://127.0.0.1:9200` (credentials as `https://user:password@host:9200`).'),
  FINEPRINT_ELASTICSEARCH_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9._-]+$/)
    .default('fineprint')
    .describe('Index and alias names start with this.'),
};
