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
});
