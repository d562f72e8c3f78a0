import type { NormalizedEvent } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import type { Logger } from '../../shared/log.js';
import type { PipelineMetrics } from '../../shared/metrics.js';
import type { ActiveOccurrence } from '../../shared/store/index.js';
import type { RecordBatch } from '../../shared/transport.js';
import { Correlator, DEFAULT_MERGE_WITHIN_MS } from './correlate.js';
import { Detection } from './detect.js';
import type { FactsCache } from './enrich.js';
import type { CompiledKb } from './match.js';

export { compileKb, type CompiledKb } from './match.js';
export { FactsCache, type FactsPersistence } from './enrich.js';
export { parseLine } from './parse.js';

/** Where incident updates go: the store directly (all-in-one) or the incidents topic (distributed). */
export interface IncidentSink {
  apply(updates: IncidentUpdate[]): Promise<void>;
  activeOccurrences(sinceTs: number): Promise<ActiveOccurrence[]>;
}

export interface ClassifierOptions {
  kb: CompiledKb;
  facts: FactsCache;
  sink: IncidentSink;
  metrics: PipelineMetrics;
  log: Logger;
  mergeWithinMs?: number;
}

export interface Classifier {
  /** Picks up correlation where a previous run left off. */
  restore(): Promise<void>;
  /** Classifies a batch; resolves once the resulting updates are durable. */
  handle(batch: RecordBatch): Promise<void>;
  /** Classifies one event without writing anything (the `classify` command, fixtures). */
  updatesFor(event: NormalizedEvent): IncidentUpdate[];
}

export function createClassifier(options: ClassifierOptions): Classifier {
  const { kb, facts, sink, metrics } = options;
  const mergeWithinMs = options.mergeWithinMs ?? DEFAULT_MERGE_WITHIN_MS;
  const detection = new Detection(kb.maxSpanMs);
  const correlator = new Correlator(kb.kb, mergeWithinMs);
  let lastSweep = 0;

  const updatesFor = (event: NormalizedEvent): IncidentUpdate[] => {
    const signals = detection.observe(event, kb.match(event));
    if (signals.length === 0) return [];
    const enrichment = facts.enrich(event);
    return signals.flatMap((signal) => correlator.correlate(signal, enrichment));
  };

  return {
    updatesFor,
    async restore() {
      correlator.restore(await sink.activeOccurrences(Date.now() - mergeWithinMs));
    },
    async handle(batch) {
      const updates: IncidentUpdate[] = [];
      for (const record of batch.records) {
        if (record.type === 'facts') {
          facts.update(record.facts);
          continue;
        }
        updates.push(...updatesFor(record.event));
        metrics.classified.inc();
      }
      await sink.apply(updates);
      for (const update of updates) {
        if (update.op === 'signal' && update.evidence.occurrenceId === update.evidence.eventId) {
          metrics.incidents.inc({ kb: update.kbId });
        }
      }
      const now = Date.now();
      if (now - lastSweep > 60_000) {
        lastSweep = now;
        correlator.sweep(now);
      }
    },
  };
}
