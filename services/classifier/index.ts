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
import { Placement, VolumeHistory } from './place.js';
import { Baselines, LastWordsJoiner, type BaselinePersistence } from './context.js';
import { withMemoryContext } from './memory-context.js';

export { compileKb, type CompiledKb } from './match.js';
export { FactsCache, type FactsPersistence } from './enrich.js';
export { VolumeHistory } from './place.js';
export { type BaselinePersistence } from './context.js';
export { parseLine } from './parse.js';

const NO_UPDATES: readonly IncidentUpdate[] = Object.freeze([]);

export interface ClassifierOptions {
  kb: CompiledKb;
  facts: FactsCache;
  /** Which containers used each volume (default: in memory only). */
  volumes?: VolumeHistory;
  /** Recently active occurrences from the incident store, to resume correlation after a restart. */
  activeOccurrences?: (sinceTs: number) => Promise<ActiveOccurrence[]>;
  metrics: PipelineMetrics;
  log: Logger;
  mergeWithinMs?: number;
  /** How long a container start must run without dying to be what its later incidents are compared with. Default 60 s. */
  cleanRunMs?: number;
  /** Where those setups survive a restart (default: in memory only). */
  baselines?: BaselinePersistence;
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
  const volumes = options.volumes ?? new VolumeHistory();
  const placement = new Placement(volumes);
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
  const lastWords = new LastWordsJoiner(mergeWithinMs);
  const baselines = new Baselines(options.cleanRunMs ?? 60_000, options.baselines);
  let lastSweep = 0;

  const updatesFor = (event: NormalizedEvent): readonly IncidentUpdate[] => {
    // Audit findings are risks (shared/risk.ts), never incidents; an audit event that an earlier
    // version left in a queue files nothing.
    if (event.audit) return NO_UPDATES;
    const updates = withContext(withMemoryContext(event, correlatedUpdates(event)));
    baselines.observeEvent(event);
    return updates;
  };

  const correlatedUpdates = (event: NormalizedEvent): readonly IncidentUpdate[] => {
    const joined = correlator.advance(event.host, event.ts);
    const signals = detection.observe(event, kb.match(event));
    // Most records match nothing: answer them without allocating.
    if (signals.length === 0) return joined;
    const enrichment = facts.enrich(event);
    const placed = placement.place(signals, event, enrichment.facts);
    return [...joined, ...placed.flatMap((signal) => correlator.correlate(signal, enrichment))];
  };

  /** What changed since the container's last clean run, and its last words once known. */
  const withContext = (updates: readonly IncidentUpdate[]): readonly IncidentUpdate[] => {
    if (updates.length === 0) return updates;
    const annotated = baselines.annotate(updates);
    const joined = lastWords.afterSignals(annotated);
    return joined.length === 0 ? annotated : [...annotated, ...joined];
  };

  return {
    updatesFor,
    async restore() {
      if (options.activeOccurrences) correlator.restore(await options.activeOccurrences(Date.now() - mergeWithinMs));
    },
    classify(records) {
      const updates: IncidentUpdate[] = [];
      let classified = 0;
      for (const record of records) {
        if (record.type === 'facts') {
          facts.update(record.facts);
          volumes.observe(record.facts);
          baselines.observeFacts(record.facts);
          continue;
        }
        if (record.type === 'lastWords') {
          updates.push(...lastWords.observe(record.lastWords));
          continue;
        }
        // Risks go to the risk store, never through the classifier (see shared/risk.ts).
        if (record.type === 'risks') continue;
        for (const update of updatesFor(record.event)) updates.push(update);
        classified++;
      }
      metrics.classified.inc(classified);
      for (const update of updates) {
        if (update.op === 'signal' && update.evidence.occurrenceId === update.evidence.eventId) {
          metrics.incidents.inc({ kb: update.kbId, severity: update.severity });
        }
      }
      const now = Date.now();
      baselines.promoteDue(now);
      if (now - lastSweep > 60_000) {
        lastSweep = now;
        updates.push(...correlator.sweep(now));
      }
      return updates;
    },
  };
}
