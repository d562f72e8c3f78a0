import type { Logger } from '../../shared/log.js';
import type { IncidentStore } from '../../shared/store/index.js';

export interface RetentionOptions {
  store: IncidentStore;
  log: Logger;
  /** How long resolved incidents and ended silences are kept, in ms (FINEPRINT_RETENTION). */
  retentionMs: number;
  /** How often to sweep, in ms. Default 1 h: a day's worth of expiry is deleted within the hour. */
  intervalMs?: number;
}

/** Deletes expired incidents and silences at start and then periodically (see shared/store/retention.ts). */
export function startRetention(options: RetentionOptions): { stop(): Promise<void> } {
  const { store, log, retentionMs } = options;
  let running: Promise<void> = Promise.resolve();
  const sweep = () => {
    running = (async () => {
      try {
        const expired = await store.expire(Date.now(), retentionMs);
        if (expired.incidents > 0 || expired.silences > 0) log.info(expired, 'Deleted incidents and silences past their retention.');
      } catch (error) {
        // The store may be down for a while; the next sweep tries again.
        log.warn({ err: error }, 'Could not delete expired incidents; will retry.');
      }
    })();
  };
  sweep();
  const timer = setInterval(sweep, options.intervalMs ?? 3_600_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
