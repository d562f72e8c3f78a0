import { EventEmitter } from 'node:events';
import { CollectorRecord, recordKey } from './event.js';
import { precompile } from './precompile.js';
import type { SqliteDatabase } from './sqlite.js';
import {
  decodeRecord,
  retryDelayMs,
  type CursorStore,
  type InvalidRecord,
  type RecordBatch,
  type RecordSink,
  type RecordSource,
  type SourceHooks,
} from './transport.js';

const BATCH = 500;
/** Longest an idle consumer waits before it looks at the table again without an append. */
const IDLE_RECHECK_MS = 10_000;

/** A record as the queue holds it: its partition key (recordKey) and its JSON body. */
export interface StoredRecord {
  key: string;
  body: string;
}

/** A record as the queue writes it (JSON.stringify keeps the `type` its sources put first). */
export function storedRecord(record: CollectorRecord): StoredRecord {
  return { key: recordKey(record), body: JSON.stringify(record) };
}

export interface EmbeddedQueueOptions {
  /** How long consumed records stay (ms). Default 24 h (all-in-one); a collector's buffer keeps none. */
  retentionMs?: number;
  /**
   * Most records kept unconsumed: past it the oldest are dropped and reported through `onDrop`
   * (a collector's buffer while Kafka is down must not fill the disk). Default: no limit.
   */
  maxBacklog?: number;
  /** Told how many of the oldest records were dropped to stay within `maxBacklog`. */
  onDrop?: (count: number) => void;
  /** Records a consumer gets per batch. Default 500; the collector's Kafka forwarder takes more per round trip. */
  batchSize?: number;
}

/**
 * The all-in-one transport: an append-only table in the embedded SQLite database. A write is durable
 * when `send` resolves; a consumer's offset is committed only after its handler resolved.
 */
export class EmbeddedQueue {
  private readonly appended = new EventEmitter();

  private readonly retentionMs: number;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly options: EmbeddedQueueOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? 24 * 3_600_000;
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
      for (const record of records) {
        const { key, body } = storedRecord(record);
        insert.run(key, body, now);
      }
    });
    const { maxBacklog, onDrop } = this.options;
    const span = this.db.prepare<[], { low: number | null; high: number | null }>('SELECT MIN(offset) AS low, MAX(offset) AS high FROM queue');
    const dropBefore = this.db.prepare('DELETE FROM queue WHERE offset < ?');
    return {
      send: async (records) => {
        if (records.length === 0) return;
        insertAll(records);
        if (maxBacklog !== undefined) {
          const { low, high } = span.get() ?? { low: null, high: null };
          if (low !== null && high !== null && high - low + 1 > maxBacklog) {
            const dropped = dropBefore.run(high - maxBacklog + 1).changes;
            if (dropped > 0) onDrop?.(dropped);
          }
        }
        this.appended.emit('append');
      },
    };
  }

  /** Records appended but not yet consumed by `consumer` (the collector's buffer depth). */
  backlog(consumer: string): number {
    const row = this.db
      .prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM queue WHERE offset > COALESCE((SELECT offset FROM queue_offsets WHERE consumer = ?), 0)')
      .get(consumer);
    return row?.n ?? 0;
  }

  cursors(): CursorStore {
    const get = this.db.prepare<[string], { value: string }>('SELECT value FROM cursors WHERE name = ?');
    const set = this.db.prepare('INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');
    const remove = this.db.prepare('DELETE FROM cursors WHERE name = ?');
    // substr, not LIKE: a prefix is taken literally.
    const names = this.db.prepare<[{ prefix: string }], { name: string }>('SELECT name FROM cursors WHERE substr(name, 1, length(@prefix)) = @prefix');
    return {
      get: (name) => get.get(name)?.value,
      set: (name, value) => void set.run(name, value),
      delete: (name) => void remove.run(name),
      names: (prefix) => names.all({ prefix }).map((r) => r.name),
    };
  }

  /**
   * A consumer that delivers the records after its committed offset as one stream named
   * `consumer` (the transport contract of RecordSource; see shared/transport.ts).
   */
  source(consumer: string, hooks: SourceHooks): RecordSource<CollectorRecord> {
    precompile(CollectorRecord);
    return this.consume(consumer, hooks, (rows) => {
      const records: CollectorRecord[] = [];
      const invalid: InvalidRecord[] = [];
      for (const row of rows) {
        const value = Buffer.from(row.body);
        const decoded = decodeRecord(CollectorRecord, value);
        if (decoded.ok) records.push(decoded.value);
        else invalid.push({ reason: decoded.reason, origin: `${consumer}/${row.offset}`, key: Buffer.from(row.key), value });
      }
      return { records, invalid };
    });
  }

  /**
   * Like source(), but delivers the records as they were written, neither parsed nor checked: a
   * collector's forwarder hands them on as they are, and the classifier checks them where they
   * enter it (a record of the queue was built by the collector's own sources).
   */
  storedSource(consumer: string, hooks: Pick<SourceHooks, 'onError'>): RecordSource<StoredRecord> {
    return this.consume(consumer, { ...hooks, onInvalid: async () => undefined }, (rows) => ({ records: rows, invalid: [] }));
  }

  private consume<T>(consumer: string, hooks: SourceHooks, decode: (rows: (StoredRecord & { offset: number })[]) => { records: T[]; invalid: InvalidRecord[] }): RecordSource<T> {
    const readOffset = this.db.prepare<[string], { offset: number }>('SELECT offset FROM queue_offsets WHERE consumer = ?');
    const commit = this.db.prepare('INSERT INTO queue_offsets (consumer, offset) VALUES (?, ?) ON CONFLICT(consumer) DO UPDATE SET offset = excluded.offset');
    const read = this.db.prepare<[number, number], { offset: number; key: string; body: string }>('SELECT offset, key, body FROM queue WHERE offset > ? ORDER BY offset LIMIT ?');
    const batchSize = this.options.batchSize ?? BATCH;
    const prune = this.db.prepare('DELETE FROM queue WHERE offset <= ? AND ts < ?');
    let stopped = false;
    let pause: { end: () => void; untilAppend: boolean } | undefined;
    let delivering: Promise<void> | undefined;
    // An append ends an idle wait, never a retry's delay (a failing store is not retried faster).
    const onAppend = () => {
      if (pause?.untilAppend) pause.end();
    };
    const sleep = (ms: number, untilAppend: boolean) =>
      new Promise<void>((resolve) => {
        const end = () => {
          clearTimeout(timer);
          pause = undefined;
          resolve();
        };
        const timer = setTimeout(end, ms);
        timer.unref();
        pause = { end, untilAppend };
      });

    const deliver = async (handler: (batch: RecordBatch<T>) => Promise<void>) => {
      let offset = readOffset.get(consumer)?.offset ?? 0;
      let lastPrune = 0;
      let attempt = 0;
      while (!stopped) {
        // Reading and committing are in the try too: a disk that fails (full) must not end the
        // loop; the batch is handled again, which the handlers tolerate (at least once).
        try {
          const rows = read.all(offset, batchSize);
          if (rows.length === 0) {
            // Nothing pending: an append wakes the loop. The long timeout only catches a writer in
            // another process (its appends are not seen here); idle, the loop costs nothing.
            await sleep(IDLE_RECHECK_MS, true);
            continue;
          }
          const { records, invalid } = decode(rows);
          if (invalid.length > 0) await hooks.onInvalid(invalid);
          if (records.length > 0) await handler({ records, stream: consumer });
          const last = (rows.at(-1) as { offset: number }).offset;
          commit.run(consumer, last);
          offset = last;
          attempt = 0;
          if (Date.now() - lastPrune > (this.retentionMs === 0 ? 1000 : 60_000)) {
            lastPrune = Date.now();
            prune.run(offset, Date.now() - this.retentionMs);
          }
        } catch (error) {
          const delayMs = retryDelayMs(attempt);
          hooks.onError(error, { attempt, delayMs });
          attempt += 1;
          await sleep(delayMs, false);
        }
      }
    };

    return {
      run: async (handler) => {
        if (stopped) return;
        this.appended.on('append', onAppend);
        delivering = deliver(handler);
      },
      stop: async () => {
        stopped = true;
        this.appended.off('append', onAppend);
        pause?.end();
        await delivering;
      },
    };
  }
}
