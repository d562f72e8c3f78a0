// The distributed classifier keeps which containers used each volume in Elasticsearch: a classifier
// restarted between a RabbitMQ container and its replacement still names the node whose data the
// volume holds.
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { afterAll, expect, it } from 'vitest';
import { VolumeHistory } from '../../services/classifier/index.js';
import { deleteElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { openElasticsearchVolumeUsers } from '../../shared/store/volume-users-elasticsearch.js';
import { fixtureFacts } from '../support/fixture-container.js';
import { waitFor } from '../support/docker.js';

const url = process.env.FINEPRINT_ELASTICSEARCH_URL;
if (!url) {
  throw new Error('FINEPRINT_ELASTICSEARCH_URL is not set: run `bash scripts/services/elasticsearch.sh start` and eval its `env`');
}
const admin = new Client({ node: url, requestTimeout: 30_000 });
const prefix = `fp-test-${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  await deleteElasticsearchStore(admin, prefix);
  await admin.close();
});

it('the volume history survives a restart of the distributed classifier', async () => {
  const mount = { type: 'volume', source: 'rabbitmq-data', destination: '/var/lib/rabbitmq', readOnly: false };
  const [previous, current] = fixtureFacts({ lines: ['x'], format: 'log', origin: 'test', container: { hostname: 'new-host', previousHostname: 'old-host', mounts: [mount] } }).map((r) => (r.type === 'facts' ? r.facts : undefined));
  if (!previous || !current) throw new Error('fixture facts');
  const errors: unknown[] = [];
  const first = await openElasticsearchVolumeUsers({ url, indexPrefix: prefix, onSaveError: (e) => errors.push(e) });
  new VolumeHistory(first).observe(previous);
  // Written behind: wait until Elasticsearch has it.
  await waitFor(async () => ((await admin.count({ index: `${prefix}-volume-users` }).catch(() => ({ count: 0 }))).count === 1 ? true : undefined), 10_000, 'the saved volume user');
  await first.close();

  const second = await openElasticsearchVolumeUsers({ url, indexPrefix: prefix, onSaveError: (e) => errors.push(e) });
  const restarted = new VolumeHistory(second);
  restarted.observe(current);
  expect(restarted.previousUser(current, mount)).toMatchObject({ hostname: 'old-host', containerName: 'fixture-previous', source: 'rabbitmq-data' });
  await second.close();
  expect(errors).toEqual([]);
});
