// The notification outbox contract against the real Elasticsearch every API replica shares.
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { afterAll } from 'vitest';
import { openElasticsearchOutbox } from '../../shared/store/outbox-elasticsearch.js';
import { outboxContract } from '../support/outbox-contract.js';

const url = process.env.FINEPRINT_ELASTICSEARCH_URL;
if (!url) {
  throw new Error('FINEPRINT_ELASTICSEARCH_URL is not set: run `bash scripts/services/elasticsearch.sh start` and eval its `env`');
}
const admin = new Client({ node: url, requestTimeout: 30_000 });
const prefixes: string[] = [];

afterAll(async () => {
  if (prefixes.length > 0) await admin.indices.delete({ index: prefixes.map((p) => `${p}-notify`), ignore_unavailable: true });
  await admin.close();
});

outboxContract('elasticsearch', async () => {
  const prefix = `fp-test-${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  const outbox = await openElasticsearchOutbox({ url, indexPrefix: prefix });
  return { outbox, close: () => outbox.close() };
});
