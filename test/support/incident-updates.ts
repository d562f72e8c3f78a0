import type { IncidentUpdate } from '../../shared/incident.js';

/**
 * The signal of a Docker `oom` event of container `name` on host h1, as the classifier sends it: a
 * new oom-kill incident per name, a new occurrence per event id.
 */
export function oomSignal(name: string, ts: number, options: { eventId?: string; message?: string } = {}): IncidentUpdate {
  const eventId = options.eventId ?? `e-${name}`;
  return {
    op: 'signal',
    proposedId: `p-${name}`,
    fingerprint: `oom-kill|h1|ctr:${name}`,
    kbId: 'oom-kill',
    title: 'Container killed by the kernel OOM killer',
    severity: 'critical',
    host: 'h1',
    container: { id: name.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a'), name, image: 'busybox' },
    compose: null,
    facts: null,
    evidence: { eventId, occurrenceId: eventId, detector: 'oom-kill/docker-oom', ts, kind: 'docker', source: 'docker-events', message: options.message ?? 'container oom' },
  };
}
