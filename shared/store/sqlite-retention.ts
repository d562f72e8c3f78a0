import { Silence } from '../silence.js';
import type { SqliteDatabase } from '../sqlite.js';
import { retentionCutoff, silenceExpired, type ExpiredCounts } from './retention.js';

/** Incidents deleted per transaction: a long history is deleted without holding the writer for long. */
const BATCH = 500;

/** Deletes, a transaction per batch, the incidents `next` names (with their evidence and search rows) until it names none or `enough` says so. */
function deleteIncidents(db: SqliteDatabase, next: (limit: number) => { id: string }[], enough: (deleted: number) => boolean = () => false): number {
  const deletes = [
    db.prepare(`DELETE FROM evidence WHERE incident_id = ?`),
    db.prepare(`DELETE FROM occurrences WHERE incident_id = ?`),
    db.prepare(`DELETE FROM incidents_fts WHERE rowid = (SELECT fts_rowid FROM incidents_fts_rows WHERE id = ?)`),
    db.prepare(`DELETE FROM incidents_fts_rows WHERE id = ?`),
    db.prepare(`DELETE FROM incidents WHERE id = ?`),
  ];
  const deleteBatch = db.transaction(() => {
    const ids = next(BATCH);
    for (const { id } of ids) for (const statement of deletes) statement.run(id);
    return ids.length;
  });
  let incidents = 0;
  for (let deleted = deleteBatch(); deleted > 0; deleted = enough(incidents) ? 0 : deleteBatch()) incidents += deleted;
  return incidents;
}

/** Deletes the expired incidents (with their evidence and search rows) and silences of the embedded store. */
export function expireSqlite(db: SqliteDatabase, now: number, retentionMs: number): ExpiredCounts {
  const cutoff = retentionCutoff(now, retentionMs);
  db.exec(`CREATE INDEX IF NOT EXISTS incidents_resolved_at ON incidents (resolved_at) WHERE status = 'resolved'`);
  const expired = db.prepare<[number, number], { id: string }>(`SELECT id FROM incidents WHERE status = 'resolved' AND resolved_at < ? LIMIT ?`);
  const incidents = deleteIncidents(db, (limit) => expired.all(cutoff, limit));

  // Silences are few: each is read as a whole; an unreadable one is kept, as silences() skips it.
  const deleteSilence = db.prepare(`DELETE FROM silences WHERE id = ?`);
  let silences = 0;
  for (const row of db.prepare<[], { id: string; body: string }>(`SELECT id, body FROM silences`).all()) {
    const parsed = Silence.safeParse(JSON.parse(row.body));
    if (parsed.success && silenceExpired(parsed.data, cutoff)) silences += deleteSilence.run(row.id).changes;
  }
  return { incidents, silences };
}

/** Bytes of the database's pages in use (free pages are not counted: they are reused, or returned by trimSqliteToSize). */
export function usedBytes(db: SqliteDatabase): number {
  const pragma = (name: string) => Number(db.pragma(name, { simple: true }));
  return (pragma('page_count') - pragma('freelist_count')) * pragma('page_size');
}

/**
 * Retention by size: while the database uses more than `maxBytes`, deletes the incidents resolved
 * longest ago (with their evidence), down to 90% of it, so a sweep does not run at every hour;
 * then returns the freed pages to the file system. Open and acknowledged incidents are never
 * deleted for size: they are what someone is working on, and they resolve themselves once quiet.
 * Returns the number of incidents deleted.
 */
export function trimSqliteToSize(db: SqliteDatabase, maxBytes: number): number {
  if (usedBytes(db) <= maxBytes) return 0;
  // A database created before auto_vacuum was set keeps its free pages in the file: converted once.
  if (Number(db.pragma('auto_vacuum', { simple: true })) !== INCREMENTAL) {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
  }
  db.exec(`CREATE INDEX IF NOT EXISTS incidents_resolved_at ON incidents (resolved_at) WHERE status = 'resolved'`);
  const oldest = db.prepare<[number], { id: string }>(`SELECT id FROM incidents WHERE status = 'resolved' ORDER BY resolved_at, id LIMIT ?`);
  const target = maxBytes * 0.9;
  // Small batches: each is measured, and a deleted row frees its page only once the page is empty.
  const deleted = deleteIncidents(db, (limit) => oldest.all(Math.min(limit, 50)), () => usedBytes(db) <= target);
  db.pragma('incremental_vacuum');
  return deleted;
}

/** PRAGMA auto_vacuum's value for INCREMENTAL. */
const INCREMENTAL = 2;
