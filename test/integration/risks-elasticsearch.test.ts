// Upgrading an Elasticsearch store that holds the risk incidents of earlier versions: they go, with
// their evidence and heads; every other incident stays as it was. (The risk store contract itself
// runs in elasticsearch-store.test.ts with the incident store contract.)
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { afterAll, describe, expect, it } from 'vitest';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { deleteElasticsearchStore, openElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { IncidentQuery } from '../../shared/store/index.js';

const url = process.env.FINEPRINT_ELASTICSEARCH_URL;
if (!url) {
  throw new Error('FINEPRINT_ELASTICSEARCH_URL is not set: run `bash scripts/services/elasticsearch.sh start` and eval its `env`');
}
const kb = loadKnowledgeBase();
const admin = new Client({ node: url, requestTimeout: 30_000 });
const prefix = `fp-test-${randomBytes(4).toString('hex')}`;
const base = Date.UTC(2026, 10, 27, 10, 0, 0);

afterAll(async () => {
  await deleteElasticsearchStore(admin, prefix);
  await admin.close();
});

function signal(fingerprint: string, kbId: string, eventId: string, message: string): IncidentUpdate {
  return {
    op: 'signal',
    proposedId: `p-${eventId}`,
    fingerprint,
    kbId,
    title: fingerprint.startsWith('risk:') ? `Risk: ${kbId}` : 'Container killed by the kernel OOM killer',
    severity: fingerprint.startsWith('risk:') ? 'low' : 'critical',
    host: 'h1',
    container: { id: 'a'.repeat(64), name: 'web', image: 'busybox' },
    compose: null,
    facts: null,
    evidence: { eventId, occurrenceId: eventId, detector: `${kbId}/d`, ts: base, kind: 'docker', source: 'docker-events', message },
  };
}

describe('upgrade of an Elasticsearch store that holds risk incidents', () => {
  it('drops them with their evidence and heads, and nothing else', async () => {
    const before = await openElasticsearchStore({ url, kb, indexPrefix: prefix });
    await before.apply([
      signal('risk:pids-exhausted|h1|ctr:web', 'pids-exhausted', 'audit:1', 'no pids limit (medium). Fix: docker update --pids-limit 512 web'),
      signal('oom-kill|h1|ctr:web', 'oom-kill', 'e1', 'container oom web'),
    ]);
    const kept = (await before.search(IncidentQuery.parse({}))).incidents.filter((i) => !i.fingerprint.startsWith('risk:'));
    const keptDetail = await before.get(kept[0]?.id ?? '');
    expect(kept).toHaveLength(1);
    await before.close();

    const after = await openElasticsearchStore({ url, kb, indexPrefix: prefix });
    expect((await after.search(IncidentQuery.parse({}))).incidents).toEqual(kept);
    expect(await after.get(kept[0]?.id ?? '')).toEqual(keptDetail);
    expect((await after.facets(IncidentQuery.parse({}))).total).toBe(1);
    const evidence = await admin.count({ index: `${prefix}-evidence` });
    const heads = await admin.count({ index: `${prefix}-heads` });
    expect([evidence.count, heads.count]).toEqual([1, 1]);
    await after.close();
  });
});
