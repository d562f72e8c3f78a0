import { describe, expect, it } from 'vitest';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { openDatabase } from '../../shared/sqlite.js';
import { IncidentQuery } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { incidentStoreContract } from '../support/store-contract.js';

const kb = loadKnowledgeBase();

incidentStoreContract('embedded SQLite', async () => new SqliteIncidentStore(openDatabase(':memory:'), kb));

describe('embedded SQLite store: upgrades', () => {
  it("makes a database's incidents searchable by their evidence once opened by this version", async () => {
    const db = openDatabase(':memory:');
    const base = Date.UTC(2026, 10, 27, 10, 0, 0);
    const evidence = (eventId: string, ts: number, message: string) => ({ eventId, occurrenceId: 'e1', detector: 'oom-kill/docker-oom', ts, kind: 'kernel' as const, source: 'kmsg', message });
    const signal = { op: 'signal' as const, proposedId: 'i1', fingerprint: 'oom-kill|h1|ctr:hog', kbId: 'oom-kill', title: 'OOM kill', severity: 'critical' as const, host: 'h1', container: null, compose: null, facts: null };
    await new SqliteIncidentStore(db, kb).apply([
      { ...signal, evidence: evidence('k1', base, 'Killed process 42 (tail)') },
      { ...signal, evidence: evidence('d1', base + 10, 'container die') },
    ]);
    // The search index as an earlier version wrote it: one column per field, no evidence.
    db.exec(`DROP TABLE incidents_fts; CREATE VIRTUAL TABLE incidents_fts USING fts5 (id UNINDEXED, title, message, container, image, kb_text)`);
    db.exec(`INSERT INTO incidents_fts (id, title, message, container, image, kb_text) VALUES ('i1', 'OOM kill', 'container die', '', '', '')`);
    db.exec(`UPDATE incidents_fts_rows SET fts_rowid = (SELECT rowid FROM incidents_fts WHERE id = 'i1')`);
    const store = new SqliteIncidentStore(db, kb);
    expect((await store.search(IncidentQuery.parse({ q: 'tail' }))).incidents.map((i) => i.id)).toEqual(['i1']);
    expect((await store.search(IncidentQuery.parse({ q: 'die' }))).incidents.map((i) => i.id)).toEqual(['i1']);
    db.close();
  });

  it('searches a database from before the search indexes, and keeps one search row per incident', async () => {
    const db = openDatabase(':memory:');
    const base = Date.UTC(2026, 10, 27, 10, 0, 0);
    const signal = (id: string, eventId: string, ts: number, message: string) => ({
      op: 'signal' as const,
      proposedId: id,
      fingerprint: `oom-kill|h1|ctr:${id}`,
      kbId: 'oom-kill',
      title: 'OOM kill',
      severity: 'critical' as const,
      host: 'h1',
      container: null,
      compose: null,
      facts: null,
      evidence: { eventId, occurrenceId: `${id}-e1`, detector: 'oom-kill/docker-oom', ts, kind: 'kernel' as const, source: 'kmsg', message },
    });
    await new SqliteIncidentStore(db, kb).apply([signal('i1', 'k1', base, 'Killed process 42 (tail)'), signal('i2', 'k2', base + 10, 'Killed process 43 (head)')]);
    // The tables as an earlier version left them: no search_rowid, an index back from search rows to ids.
    db.exec(`DROP INDEX incidents_seen; DROP INDEX incidents_kb_host; DROP INDEX incidents_search_rowid; ALTER TABLE incidents DROP COLUMN search_rowid;
      CREATE INDEX incidents_last_seen ON incidents (last_seen DESC, id DESC); CREATE INDEX incidents_fts_rows_rowid ON incidents_fts_rows (fts_rowid, id)`);
    const store = new SqliteIncidentStore(db, kb);
    const ids = async (q: string) => (await store.search(IncidentQuery.parse({ q }))).incidents.map((i) => i.id);
    expect(await ids('tail')).toEqual(['i1']);
    expect((await store.facets(IncidentQuery.parse({ q: 'killed' }))).total).toBe(2);
    await store.apply([signal('i1', 'k3', base + 20, 'quokka in the walls'), signal('i3', 'k4', base + 30, 'Killed process 44 (cat)')]);
    expect(await ids('quokka')).toEqual(['i1']);
    expect(await ids('tail')).toEqual(['i1']);
    // The same words after a write: the new match is found.
    expect((await store.facets(IncidentQuery.parse({ q: 'killed' }))).total).toBe(3);
    expect(db.prepare('SELECT COUNT(*) AS n FROM incidents_fts').get()).toEqual({ n: 3 });
    db.close();
  });
});
