// The distributed classifier keeps what it learned of the fleet in Elasticsearch: a classifier
// restarted between a RabbitMQ container and its replacement still names the node whose data the
// volume holds, and one restarted before a container is recreated with a lower limit still says
// what changed since its last clean run.
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { afterAll, expect, it } from 'vitest';
import { Baselines } from '../../services/classifier/context.js';
import { VolumeHistory } from '../../services/classifier/index.js';
import type { ContainerFacts } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { openElasticsearchBaselines } from '../../shared/store/baselines-elasticsearch.js';
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
const MiB = 2 ** 20;

afterAll(async () => {
  await deleteElasticsearchStore(admin, prefix);
  await admin.close();
});

/** Records are written behind: wait until Elasticsearch has `n` in `index`. */
async function saved(index: string, n: number): Promise<void> {
  await admin.indices.refresh({ index, ignore_unavailable: true }).catch(() => undefined);
  await waitFor(async () => ((await admin.count({ index }).catch(() => ({ count: 0 }))).count === n ? true : undefined), 10_000, `${n} saved in ${index}`);
}

it('the volume history survives a restart of the distributed classifier', async () => {
  const mount = { type: 'volume', source: 'rabbitmq-data', destination: '/var/lib/rabbitmq', readOnly: false };
  const [previous, current] = fixtureFacts({ lines: ['x'], format: 'log', origin: 'test', container: { hostname: 'new-host', previousHostname: 'old-host', mounts: [mount] } }).map((r) => (r.type === 'facts' ? r.facts : undefined));
  if (!previous || !current) throw new Error('fixture facts');
  const errors: unknown[] = [];
  const first = await openElasticsearchVolumeUsers({ url, indexPrefix: prefix, onSaveError: (e) => errors.push(e) });
  new VolumeHistory(first).observe(previous);
  await saved(`${prefix}-volume-users`, 1);
  await first.close();

  const second = await openElasticsearchVolumeUsers({ url, indexPrefix: prefix, onSaveError: (e) => errors.push(e) });
  const restarted = new VolumeHistory(second);
  restarted.observe(current);
  expect(restarted.previousUser(current, mount)).toMatchObject({ hostname: 'old-host', containerName: 'fixture-previous', source: 'rabbitmq-data' });
  await second.close();
  expect(errors).toEqual([]);
});

it('what changed since the last clean run survives a restart of the distributed classifier', async () => {
  const [fixture] = fixtureFacts({ lines: ['x'], format: 'log', origin: 'test', container: { hostname: 'shop', mounts: [] } }).map((r) => (r.type === 'facts' ? r.facts : undefined));
  if (!fixture) throw new Error('fixture facts');
  const startedAt = 1_000_000;
  const ran: ContainerFacts = { ...fixture, limits: { ...fixture.limits, memory: 128 * MiB }, state: { ...fixture.state, startedAt: new Date(startedAt).toISOString() } };
  const errors: unknown[] = [];
  const first = await openElasticsearchBaselines({ url, indexPrefix: prefix, onSaveError: (e) => errors.push(e) });
  const before = new Baselines(60_000, first);
  before.observeFacts(ran);
  before.promoteDue(startedAt + 61_000);
  await saved(`${prefix}-baselines`, 1);
  await first.close();

  // Recreated with a quarter of its memory limit, after the classifier restarted.
  const recreated: ContainerFacts = { ...ran, id: 'd'.repeat(64), limits: { ...ran.limits, memory: 32 * MiB } };
  const second = await openElasticsearchBaselines({ url, indexPrefix: prefix, onSaveError: (e) => errors.push(e) });
  const signal = { op: 'signal', facts: recreated } as IncidentUpdate;
  const [annotated] = new Baselines(60_000, second).annotate([signal]);
  expect(annotated?.op === 'signal' ? annotated.context?.changes : undefined).toEqual([
    { field: 'limits.memory', before: '128 MiB', after: '32 MiB' },
  ]);
  await second.close();
  expect(errors).toEqual([]);
});
