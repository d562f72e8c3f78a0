import type { IncidentUpdate } from '../incident.js';
import type { PipelineMetrics } from '../metrics.js';
import type { IncidentStore } from './index.js';

/**
 * `store.apply`, timed: how long the write took, and for each newly filed occurrence how long
 * after its event it reached the store (the figure an on-call engineer feels).
 */
export async function applyMeasured(
  store: Pick<IncidentStore, 'apply'>,
  updates: IncidentUpdate[],
  metrics: Pick<PipelineMetrics, 'storeWrite' | 'eventToIncident'>,
): ReturnType<IncidentStore['apply']> {
  const started = performance.now();
  const changed = await store.apply(updates);
  metrics.storeWrite.observe((performance.now() - started) / 1000);
  const now = Date.now();
  for (const update of updates) {
    if (update.op === 'signal' && update.evidence.occurrenceId === update.evidence.eventId) {
      metrics.eventToIncident.observe(Math.max(0, now - update.evidence.ts) / 1000);
    }
  }
  return changed;
}
