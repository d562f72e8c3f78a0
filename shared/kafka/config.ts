import { z } from 'zod';

/** Settings every distributed service shares (see README, "Fleet install"). */
export const kafkaConfig = {
  /** Comma-separated bootstrap brokers, e.g. 10.0.0.5:9092,10.0.0.6:9092. */
  FINEPRINT_KAFKA_BROKERS: z
    .string()
    .min(1)
    .transform((v) => v.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1)),
  /** Topic names start with this: <prefix>.events.v1, <prefix>.incidents.v1, <prefix>.dead-letter.v1. */
  FINEPRINT_KAFKA_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]+$/).default('fineprint'),
  /** Partitions of topics fineprint creates (more partitions, more classifier parallelism). */
  FINEPRINT_KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  /** Retention of topics fineprint creates, in hours. */
  FINEPRINT_KAFKA_RETENTION_HOURS: z.coerce.number().int().min(1).max(8760).default(72),
};
export const elasticsearchConfig = {
  /** Elasticsearch URL, e.g. http://127.0.0.1:9200. */
  FINEPRINT_ELASTICSEARCH_URL: z.url(),
  /** Index and alias names start with this. */
  FINEPRINT_ELASTICSEARCH_INDEX_PREFIX: z.string().regex(/^[a-z0-9._-]+$/).default('fineprint'),
};
