import type { KnowledgeBase } from '../../shared/kb/load.js';
import type { Logger } from '../../shared/log.js';
import type { Notifier } from '../../shared/notification.js';
import type { IncidentStore } from '../../shared/store/index.js';

export interface AutoResolveOptions {
  store: IncidentStore;
  kb: KnowledgeBase;
  notifier: Notifier;
  log: Logger;
  /** Quiet period of entries without `resolveAfter`, in ms (FINEPRINT_RESOLVE_AFTER). */
  defaultQuietMs: number;
  /** How often to look for quiet incidents, in ms. Default 10 s: a resolve is never urgent. */
  intervalMs?: number;
}

/** Resolves incidents that have been quiet for their KB entry's period, and tells the receivers. */
export function startAutoResolve(options: AutoResolveOptions): { stop(): Promise<void> } {
  const { store, kb, notifier, log, defaultQuietMs } = options;
  const quietMs = (kbId: string) => kb.byId.get(kbId)?.resolveAfter ?? defaultQuietMs;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        const resolved = await store.resolveQuiet(Date.now(), quietMs);
        if (resolved.length > 0) {
          log.info({ count: resolved.length, incidents: resolved.slice(0, 20).map((i) => i.id) }, 'Resolved quiet incidents.');
          await notifier.observe(resolved);
        }
      } catch (error) {
        // The store may be down for a while; the next tick tries again.
        log.warn({ err: error }, 'Could not resolve quiet incidents; will retry.');
      }
    })();
  };
  const timer = setInterval(tick, options.intervalMs ?? 10_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
