import type { NormalizedEvent } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import type { Logger } from '../../shared/log.js';
import type { PipelineMetrics } from '../../shared/metrics.js';
import type { ActiveOccurrence } from '../../shared/store/index.js';
import type { CollectorRecord } from '../../shared/event.js';
import { Correlator, DEFAULT_MERGE_WITHIN_MS } from './correlate.js';
import { Detection } from './detect.js';
import type { FactsCache } from './enrich.js';
import type { CompiledKb } from './match.js';

export { compileKb, type CompiledKb } from './match.js';
export { FactsCache, type FactsPersistence } from './enrich.js';
export { parseLine } from './parse.js';

const NO_UPDATES: readonly IncidentUpdate[] = Object.freeze([]);

export interface ClassifierOptions {
  kb: CompiledKb;
  facts: FactsCache;
  /** Recently active occurrences from the incident store, to resume correlation after a restart. */
  activeOccurrences?: (sinceTs: number) => Promise<ActiveOccurrence[]>;
  metrics: PipelineMetrics;
  log: Logger;
  mergeWithinMs?: number;
}

export interface Classifier {
  /** Picks up correlation where a previous run left off. */
  restore(): Promise<void>;
  /**
   * Classifies records in order into incident updates for the store (all-in-one) or the incidents
   * topic (distributed); the caller makes them durable before committing its offset.
   */
  classify(records: readonly CollectorRecord[]): IncidentUpdate[];
  /** Classifies one event without writing anything (the `classify` command, fixtures). */
  updatesFor(event: NormalizedEvent): readonly IncidentUpdate[];
}

export function createClassifier(options: ClassifierOptions): Classifier {
  const { kb, facts, metrics } = options;
  const mergeWithinMs = options.mergeWithinMs ?? DEFAULT_MERGE_WITHIN_MS;
  const detection = new Detection(kb.maxSpanMs);
  const correlator = new Correlator(kb.kb, {
    mergeWithinMs,
    onUnattributed: (signal) => {
      metrics.discarded.inc({ source: 'classifier', reason: 'unattributed' });
      options.log.debug(
        { eventId: signal.event.id, detector: `${signal.entry.id}/${signal.detectorId}`, host: signal.event.host },
        'Dropped a container-scoped signal that names no container: no occurrence of its entry around it.',
      );
    },
  });
  let lastSweep = 0;

  const updatesFor = (event: NormalizedEvent): readonly IncidentUpdate[] => {
    // Audit findings are risks (shared/risk.ts), never incidents; an audit event that an earlier
    // version left in a queue files nothing.
    if (event.audit) return NO_UPDATES;
    const joined = correlator.advance(event.host, event.ts);
    const signals = detection.observe(event, kb.match(event));
    // Most records match nothing: answer them without allocating.
    if (signals.length === 0) return joined;
    const enrichment = facts.enrich(event);
    return [...joined, ...signals.flatMap((signal) => correlator.correlate(signal, enrichment))];
  };

  return {
    updatesFor,
    async restore() {
      if (options.activeOccurrences) correlator.restore(await options.activeOccurrences(Date.now() - mergeWithinMs));
    },
    classify(records) {
      const updates: IncidentUpdate[] = [];
      for (const record of records) {
        if (record.type === 'facts') {
          facts.update(record.facts);
          continue;
        }
        // Risks go to the risk store, never through the classifier (see shared/risk.ts).
        if (record.type === 'risks') continue;
        for (const update of updatesFor(record.event)) updates.push(update);
        metrics.classified.inc();
      }
      for (const update of updates) {
        if (update.op === 'signal' && update.evidence.occurrenceId === update.evidence.eventId) {
          metrics.incidents.inc({ kb: update.kbId });
        }
      }
      const now = Date.now();
      if (now - lastSweep > 60_000) {
        lastSweep = now;
        updates.push(...correlator.sweep(now));
      }
      return updates;
    },
  };
}
