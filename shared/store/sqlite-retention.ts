import { Silence } from '../silence.js';
import type { SqliteDatabase } from '../sqlite.js';
import { retentionCutoff, silenceExpired, type ExpiredCounts } from './retention.js';

/** Incidents deleted per transaction: a long history is deleted without holding the writer for long. */
const BATCH = 500;

/** Deletes the expired incidents (with their evidence and search rows) and silences of the embedded store. */
export function expireSqlite(db: SqliteDatabase, now: number, retentionMs: number): ExpiredCounts {
  const cutoff = retentionCutoff(now, retentionMs);
  db.exec(`CREATE INDEX IF NOT EXISTS incidents_resolved_at ON incidents (resolved_at) WHERE status = 'resolved'`);
  const expired = db.prepare<[number, number], { id: string }>(`SELECT id FROM incidents WHERE status = 'resolved' AND resolved_at < ? LIMIT ?`);
  const deletes = [
    db.prepare(`DELETE FROM evidence WHERE incident_id = ?`),
    db.prepare(`DELETE FROM incidents_fts WHERE rowid = (SELECT fts_rowid FROM incidents_fts_rows WHERE id = ?)`),
    db.prepare(`DELETE FROM incidents_fts_rows WHERE id = ?`),
    db.prepare(`DELETE FROM incidents WHERE id = ?`),
  ];
  const deleteBatch = db.transaction(() => {
    const ids = expired.all(cutoff, BATCH);
    for (const { id } of ids) for (const statement of deletes) statement.run(id);
    return ids.length;
  });
  let incidents = 0;
  for (let deleted = deleteBatch(); deleted > 0; deleted = deleteBatch()) incidents += deleted;

  // Silences are few: each is read as a whole; an unreadable one is kept, as silences() skips it.
  const deleteSilence = db.prepare(`DELETE FROM silences WHERE id = ?`);
  let silences = 0;
  for (const row of db.prepare<[], { id: string; body: string }>(`SELECT id, body FROM silences`).all()) {
    const parsed = Silence.safeParse(JSON.parse(row.body));
    if (parsed.success && silenceExpired(parsed.data, cutoff)) silences += deleteSilence.run(row.id).changes;
  }
  return { incidents, silences };
}
