import { EventEmitter } from 'node:events';
import { CollectorRecord, recordKey } from './event.js';
import type { SqliteDatabase } from './sqlite.js';
import type { CursorStore, RecordBatch, RecordSink, RecordSource } from './transport.js';

const BATCH = 500;

export interface EmbeddedQueueOptions {
  /** How long consumed records stay (ms). Default 24 h (all-in-one); a collector's buffer keeps none. */
  retentionMs?: number;
  /**
   * Most records kept unconsumed: past it the oldest are dropped and reported through `onDrop`
   * (a collector's buffer while Kafka is down must not fill the disk). Default: no limit.
   */
  maxBacklog?: number;
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
      for (const record of records) insert.run(recordKey(record), JSON.stringify(record), now);
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
    const batchSize = this.options.batchSize ?? BATCH;
    const prune = this.db.prepare('DELETE FROM queue WHERE offset <= ? AND ts < ?');
    let stopped = false;
    let wake: (() => void) | undefined;
    let running: Promise<void> | undefined;
    const onAppend = () => wake?.();

    const loop = async (handler: (batch: RecordBatch) => Promise<void>) => {
      let offset = readOffset.get(consumer)?.offset ?? 0;
      let lastPrune = 0;
      while (!stopped) {
        const rows = read.all(offset, batchSize);
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
        const last = (rows.at(-1) as { offset: number }).offset;
        try {
          await handler({ records });
          // In the try: an offset that cannot be written (disk full) must not end the loop; the
          // batch is handled again, which the handlers tolerate (at-least-once).
          commit.run(consumer, last);
          offset = last;
          if (Date.now() - lastPrune > (this.retentionMs === 0 ? 1000 : 60_000)) {
            lastPrune = Date.now();
            prune.run(offset, Date.now() - this.retentionMs);
          }
        } catch (error) {
          hooks.onError(error);
          await new Promise((resolve) => setTimeout(resolve, 1000).unref());
          continue;
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
