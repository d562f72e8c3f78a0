import type { NormalizedEvent } from '../../shared/event.js';
import type { IncidentContext, IncidentUpdate } from '../../shared/incident.js';
import { oomScope } from '../../shared/kmsg/oom-scope.js';

/**
 * What an OOM event tells its incidents besides evidence: the memory curve the collector attached
 * to a Docker `oom` event, and which limit was exhausted, from the kernel's oom-kill summary line.
 */
export function withMemoryContext(event: NormalizedEvent, updates: readonly IncidentUpdate[]): readonly IncidentUpdate[] {
  const id = event.container?.id;
  if (!id || updates.length === 0) return updates;
  const scope = event.kind === 'kernel' ? oomScope(event.message, id) : undefined;
  const context: IncidentContext = { ...(event.memoryCurve ? { memoryCurve: event.memoryCurve } : {}), ...(scope ? { oomScope: scope } : {}) };
  if (!context.memoryCurve && !context.oomScope) return updates;
  return updates.map((update) =>
    update.op === 'signal' && update.container?.id === id && update.evidence.eventId === event.id
      ? { ...update, context: { ...update.context, ...context } }
      : update,
  );
}
