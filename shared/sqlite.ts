import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

/**
 * Opens the embedded database (queue, cursors, incidents) in WAL mode: readers never block the
 * writer, and a crash loses nothing that a committed transaction wrote. It holds container facts
 * and tokens' deeds, so a new data dir is 0700 and a new database 0600 from creation (SQLite gives
 * its -wal and -shm files the database's mode).
 */
export function openDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  }
  const db = new Database(path);
  // Deleted data's pages can go back to the file system (PRAGMA incremental_vacuum); takes effect on a new database only.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}
