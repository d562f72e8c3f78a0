import type { NormalizedEvent } from '../../shared/event.js';
import type { IncidentContext, IncidentUpdate } from '../../shared/incident.js';
import { oomScope } from '../../shared/kmsg/oom-scope.js';

/**
 * What an OOM event tells its incidents besides evidence: the memory curve the collector attached
 * to a Docker `oom` event (or to a memory-pressure reading), which limit was exhausted, from the
 * kernel's oom-kill summary line, and for a global OOM who used the host's memory (its kill line).
 * A global OOM may kill a process outside any container: its scope and memory users still count.
 */
export function withMemoryContext(event: NormalizedEvent, updates: readonly IncidentUpdate[]): readonly IncidentUpdate[] {
  if (updates.length === 0) return updates;
  const id = event.container?.id;
  const scope = event.kind === 'kernel' ? oomScope(event.message, id ?? '') : undefined;
  const context: IncidentContext = {
    ...(event.memoryCurve && id ? { memoryCurve: event.memoryCurve } : {}),
    ...(scope && (id || scope === 'host') ? { oomScope: scope } : {}),
    ...(event.memoryUsers ? { memoryUsers: event.memoryUsers } : {}),
  };
  if (!context.memoryCurve && !context.oomScope && !context.memoryUsers) return updates;
  return updates.map((update) =>
    update.op === 'signal' && update.container?.id === id && update.evidence.eventId === event.id
      ? { ...update, context: { ...update.context, ...context } }
      : update,
  );
}
