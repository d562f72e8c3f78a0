import type { Incident } from '../../shared/incident.js';
import type { Logger } from '../../shared/log.js';

/** Incidents remembered as already logged; the oldest are forgotten first. */
const REMEMBERED = 10_000;

/**
 * One log line per incident filed, whatever the number of updates its first occurrence brings (an
 * OOM kill arrives as a Docker event, kernel lines and a die): pass it every incident the store
 * changed.
 */
export function incidentFiledLog(log: Logger): (changed: readonly Incident[]) => void {
  const logged = new Set<string>();
  return (changed) => {
    for (const incident of changed) {
      if (incident.count !== 1 || incident.reopened !== 0 || logged.has(incident.id)) continue;
      logged.add(incident.id);
      if (logged.size > REMEMBERED) logged.delete(logged.values().next().value as string);
      const where = incident.compose?.service ?? incident.container?.name;
      log.info(
        { incident: incident.id, kb: incident.kbId, severity: incident.severity, host: incident.host, ...(where ? { container: where } : {}) },
        `Filed ${incident.severity} incident: ${incident.title}${where ? ` (${where})` : ''}`,
      );
    }
  };
}
