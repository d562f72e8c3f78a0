import { describe, expect, it } from 'vitest';
import { startAutoResolve } from '../../services/api/auto-resolve.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { openDatabase } from '../../shared/sqlite.js';
import { IncidentQuery } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { notifierWithoutReceivers } from '../support/api.js';
import { waitFor } from '../support/docker.js';
import { oomSignal } from '../support/incident-updates.js';

const kb = loadKnowledgeBase();

const oom = (name: string, ts: number, eventId = `e-${name}`): IncidentUpdate => oomSignal(name, ts, { eventId });

describe('auto-resolve on the real embedded store', () => {
  it('resolves incidents quiet for the default period, leaves recent ones open, and a recurrence re-opens', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteIncidentStore(db, kb);
    const log = createLogger('test', 'fatal');
    const notifier = notifierWithoutReceivers(db, store, kb);
    const now = Date.now();
    await store.apply([oom('quiet', now - 120_000), oom('busy', now)]);
    const loop = startAutoResolve({ store, kb, notifier, log, defaultQuietMs: 60_000, intervalMs: 20 });
    try {
      const resolved = await waitFor(
        async () => (await store.search(IncidentQuery.parse({ status: 'resolved' }))).incidents[0],
        10_000,
        'the quiet incident to resolve',
        20,
      );
      expect(resolved).toMatchObject({ container: { name: 'quiet' }, resolved: { by: 'fineprint', auto: true } });
      expect((await store.search(IncidentQuery.parse({ status: 'open' }))).incidents.map((i) => i.container?.name)).toEqual(['busy']);
      const [again] = await store.apply([oom('quiet', now, 'e-quiet-2')]);
      expect(again).toMatchObject({ id: resolved.id, status: 'open', reopened: 1 });
    } finally {
      await loop.stop();
      db.close();
    }
  });
});
