import type { Silence } from '../silence.js';

/*
 * Retention: what a store deletes for good. An incident goes once it has been resolved for longer
 * than the retention (an open or acknowledged one stays however old it is, and a re-opened one
 * starts over), with its evidence; a silence goes once it has ended for longer than the retention.
 */

/** What one sweep deleted. */
export interface ExpiredCounts {
  incidents: number;
  silences: number;
}

/** Incidents resolved before this instant (ms) and silences ended before it are expired. */
export function retentionCutoff(now: number, retentionMs: number): number {
  return now - retentionMs;
}

/** Whether a silence ended before the cutoff. */
export function silenceExpired(silence: Pick<Silence, 'endsAt'>, cutoff: number): boolean {
  return Date.parse(silence.endsAt) < cutoff;
}
