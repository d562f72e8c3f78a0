import { EventEmitter } from 'node:events';
import { CollectorRecord, recordKey } from './event.js';
import type { SqliteDatabase } from './sqlite.js';
import type { CursorStore, RecordBatch, RecordSink, RecordSource } from './transport.js';

/** How long consumed records stay in the queue (for replays and classifier warm-up). */
const RETENTION_MS = 24 * 3_600_000;
const BATCH = 500;

/**
 * The all-in-one transport: an append-only table in the embedded SQLite database. A write is durable
 * when `send` resolves; a consumer's offset is committed only after its handler resolved.
 */
export class EmbeddedQueue {
  private readonly appended = new EventEmitter();

  constructor(private readonly db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS queue (offset INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, body TEXT NOT NULL, ts INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS queue_offsets (consumer TEXT PRIMARY KEY, offset INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.appended.setMaxListeners(0);
  }

  sink(): RecordSink {
    const insert = this.db.prepare('INSERT INTO queue (key, body, ts) VALUES (?, ?, ?)');
    const insertAll = this.db.transaction((records: CollectorRecord[]) => {
      const now = Date.now();
      for (const record of records) insert.run(recordKey(record), JSON.stringify(record), now);
    });
    return {
      send: async (records) => {
        if (records.length === 0) return;
        insertAll(records);
        this.appended.emit('append');
      },
    };
  }

  cursors(): CursorStore {
    const get = this.db.prepare<[string], { value: string }>('SELECT value FROM cursors WHERE name = ?');
    const set = this.db.prepare('INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');
    return {
      get: (name) => get.get(name)?.value,
      set: (name, value) => void set.run(name, value),
    };
  }

  /**
   * A consumer that delivers records after its committed offset. Records that fail validation are
   * reported through `onInvalid` and skipped: one bad record never blocks the rest. A handler that
   * fails (store unavailable) gets the same batch again after a pause, reported through `onError`.
   */
  source(
    consumer: string,
    hooks: { onInvalid: (offset: number, reason: string) => void; onError: (error: unknown) => void },
  ): RecordSource {
    const readOffset = this.db.prepare<[string], { offset: number }>('SELECT offset FROM queue_offsets WHERE consumer = ?');
    const commit = this.db.prepare('INSERT INTO queue_offsets (consumer, offset) VALUES (?, ?) ON CONFLICT(consumer) DO UPDATE SET offset = excluded.offset');
    const read = this.db.prepare<[number, number], { offset: number; body: string }>('SELECT offset, body FROM queue WHERE offset > ? ORDER BY offset LIMIT ?');
    const prune = this.db.prepare('DELETE FROM queue WHERE offset <= ? AND ts < ?');
    let stopped = false;
    let wake: (() => void) | undefined;
    let running: Promise<void> | undefined;
    const onAppend = () => wake?.();

    const loop = async (handler: (batch: RecordBatch) => Promise<void>) => {
      let offset = readOffset.get(consumer)?.offset ?? 0;
      let lastPrune = 0;
      while (!stopped) {
        const rows = read.all(offset, BATCH);
        if (rows.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 1000).unref();
          });
          wake = undefined;
          continue;
        }
        const records: CollectorRecord[] = [];
        for (const row of rows) {
          let parsed: ReturnType<typeof CollectorRecord.safeParse>;
          try {
            parsed = CollectorRecord.safeParse(JSON.parse(row.body));
          } catch (error) {
            hooks.onInvalid(row.offset, `not JSON: ${(error as Error).message}`);
            continue;
          }
          if (parsed.success) records.push(parsed.data);
          else hooks.onInvalid(row.offset, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        }
        try {
          await handler({ records });
        } catch (error) {
          hooks.onError(error);
          await new Promise((resolve) => setTimeout(resolve, 1000).unref());
          continue;
        }
        offset = (rows.at(-1) as { offset: number }).offset;
        commit.run(consumer, offset);
        if (Date.now() - lastPrune > 60_000) {
          lastPrune = Date.now();
          prune.run(offset, Date.now() - RETENTION_MS);
        }
      }
    };

    return {
      run: (handler) => {
        this.appended.on('append', onAppend);
        running = loop(handler);
        return running;
      },
      stop: async () => {
        stopped = true;
        this.appended.off('append', onAppend);
        wake?.();
        await running?.catch(() => undefined);
      },
    };
  }
}
