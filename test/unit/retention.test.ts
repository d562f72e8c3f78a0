import { describe, expect, it } from 'vitest';
import { startRetention } from '../../services/api/retention.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { openDatabase } from '../../shared/sqlite.js';
import { IncidentQuery } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { waitFor } from '../support/docker.js';

const kb = loadKnowledgeBase();
const DAY = 86_400_000;

const oom = (name: string, ts: number): IncidentUpdate => ({
  op: 'signal',
  proposedId: `p-${name}`,
  fingerprint: `oom-kill|h1|ctr:${name}`,
  kbId: 'oom-kill',
  title: 'Container killed by the kernel OOM killer',
  severity: 'critical',
  host: 'h1',
  container: { id: name.padEnd(64, 'a'), name, image: 'busybox' },
  compose: null,
  facts: null,
  evidence: { eventId: `e-${name}`, occurrenceId: `e-${name}`, detector: 'oom-kill/docker-oom', ts, kind: 'docker', source: 'docker-events', message: 'container oom' },
});

describe('retention sweep on the real embedded store', () => {
  it('deletes an incident resolved longer ago than the retention and keeps one resolved since', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteIncidentStore(db, kb);
    const now = Date.now();
    await store.apply([oom('old', now - 3 * DAY), oom('fresh', now - 3 * DAY)]);
    await store.resolve('p-old', { by: 'bob', at: new Date(now - 2 * DAY).toISOString(), auto: false });
    await store.resolve('p-fresh', { by: 'bob', at: new Date(now - DAY / 2).toISOString(), auto: false });
    const sweep = startRetention({ store, log: createLogger('test', 'fatal'), retentionMs: DAY, intervalMs: 20 });
    try {
      const names = async () => (await store.search(IncidentQuery.parse({}))).incidents.map((i) => i.container?.name);
      await waitFor(async () => ((await names()).length === 1 ? true : undefined), 10_000, 'the old incident to be deleted', 20);
      expect(await names()).toEqual(['fresh']);
      expect(await store.get('p-old')).toBeUndefined();
    } finally {
      await sweep.stop();
      db.close();
    }
  });
});
