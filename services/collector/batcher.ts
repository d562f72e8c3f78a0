import { setTimeout as sleep } from 'node:timers/promises';
import type { CollectorRecord } from '../../shared/event.js';
import type { Logger } from '../../shared/log.js';
import type { PipelineMetrics } from '../../shared/metrics.js';
import type { RecordSink } from '../../shared/transport.js';

export interface BatcherOptions {
  sink: RecordSink;
  log: Logger;
  metrics: PipelineMetrics;
  /** Longest a record waits in memory before a send, ms. Default 50. */
  flushMs?: number;
  /** Most records in one `sink.send`. Default 500. */
  maxBatch?: number;
}

type Entry = { record: CollectorRecord } | { commit: () => void };

/** How often close() retries a failing sink before giving up (the cursors were not advanced). */
const CLOSE_ATTEMPTS = 3;
const RETRY_CAP_MS = 5000;

/**
 * Sends a source's records in small batches, in order, one send at a time. Commit callbacks
 * (cursor advances) run only after every record queued before them was sent: a crash then replays
 * records, it never skips them. A failing sink is retried with backoff; records stay queued.
 */
export class Batcher {
  private readonly queue: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private readonly flushMs: number;
  private readonly maxBatch: number;

  constructor(private readonly options: BatcherOptions) {
    this.flushMs = options.flushMs ?? 50;
    this.maxBatch = options.maxBatch ?? 500;
  }

  push(record: CollectorRecord): void {
    this.queue.push({ record });
    this.schedule(this.queue.length >= this.maxBatch ? 0 : this.flushMs);
  }

  /** Runs `commit` once everything pushed before it has been sent. */
  commit(commit: () => void): void {
    this.queue.push({ commit });
    this.schedule(this.flushMs);
  }

  /** Sends everything queued; retries a failing sink a few times, then gives up with an error log. */
  async close(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.running;
      await this.drain();
      if (this.queue.length === 0) break;
      if (attempt >= CLOSE_ATTEMPTS) {
        this.options.log.error({ pending: this.queue.length }, 'Could not send every record before stopping; they will be read again after a restart.');
        break;
      }
      await sleep(100 * 2 ** attempt);
    }
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.running) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, delayMs);
  }

  private drain(): Promise<void> {
    this.running ??= this.sendAll().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.schedule(this.failures > 0 ? Math.min(RETRY_CAP_MS, 100 * 2 ** this.failures) : 0);
    });
    return this.running;
  }

  private async sendAll(): Promise<void> {
    while (this.queue.length > 0) {
      let end = 0;
      const records: CollectorRecord[] = [];
      while (end < this.queue.length && records.length < this.maxBatch) {
        const entry = this.queue[end++] as Entry;
        if ('record' in entry) records.push(entry.record);
      }
      if (records.length > 0) {
        try {
          await this.options.sink.send(records);
          this.failures = 0;
        } catch (err) {
          this.failures++;
          this.options.metrics.errors.inc({ stage: 'sending', error_type: 'sink_send_failed' });
          this.options.log.error({ err, records: records.length, attempt: this.failures }, 'The sink refused a batch; retrying.');
          return;
        }
      }
      for (const entry of this.queue.splice(0, end)) if ('commit' in entry) this.runCommit(entry.commit);
    }
  }

  /**
   * A cursor that cannot be saved (the data dir's disk full) is not fatal: the records were sent,
   * and a restart before the next save only reads them again. Thrown here it would reject a drain
   * nobody awaits, and an unhandled rejection ends the process.
   */
  private runCommit(commit: () => void): void {
    try {
      commit();
    } catch (err) {
      this.options.metrics.errors.inc({ stage: 'sending', error_type: 'cursor_save_failed' });
      this.options.log.warn({ err }, 'Could not save a source cursor; what was read since may be read again after a restart.');
    }
  }
}
