import { createHash } from 'node:crypto';
import type { NormalizedEvent } from '../../shared/event.js';
import type { Evidence, IncidentUpdate } from '../../shared/incident.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import type { KbEntry } from '../../shared/kb/schema.js';
import type { ActiveOccurrence } from '../../shared/store/index.js';
import type { Signal } from './detect.js';
import type { Enrichment } from './enrich.js';

/** Signals for one fingerprint closer than this are one occurrence (an oom event, its kernel lines, its die). */
export const DEFAULT_MERGE_WITHIN_MS = 60_000;

interface Occurrence {
  occurrenceId: string;
  lastTs: number;
}

/** What groups occurrences into one incident: KB entry, host, and compose service or container name. */
export function fingerprintOf(kbId: string, host: string, enrichment: Enrichment): string {
  const subject = enrichment.compose
    ? `svc:${enrichment.compose.project}/${enrichment.compose.service}`
    : enrichment.container
      ? `ctr:${enrichment.container.name}`
      : 'host';
  return `${kbId}|${host}|${subject}`;
}

const incidentIdFor = (fingerprint: string, occurrenceId: string): string =>
  createHash('sha256').update(`${fingerprint}\n${occurrenceId}`).digest('base64url').slice(0, 22);

function evidenceOf(event: NormalizedEvent, occurrenceId: string, detector: string): Evidence {
  return {
    eventId: event.id,
    occurrenceId,
    detector,
    ts: event.ts,
    kind: event.kind,
    source: event.source,
    message: event.message,
    ...(event.docker ? { action: event.docker.action } : {}),
    ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
  };
}

/**
 * Correlates signals into incident updates: one occurrence per burst of related signals, evidence-only
 * detectors attach to an open occurrence, and a more specific entry (jvm-heap) takes over the
 * occurrence of the entry it supersedes (oom-kill) instead of filing a second incident.
 */
export class Correlator {
  private readonly active = new Map<string, Occurrence>();
  private readonly supersededBy = new Map<string, KbEntry[]>();

  constructor(
    kb: KnowledgeBase,
    private readonly mergeWithinMs: number = DEFAULT_MERGE_WITHIN_MS,
  ) {
    for (const entry of kb.entries) {
      for (const other of entry.supersedes ?? []) {
        this.supersededBy.set(other, [...(this.supersededBy.get(other) ?? []), entry]);
      }
    }
  }

  /** Resumes correlation after a restart from the store's recently active occurrences. */
  restore(occurrences: readonly ActiveOccurrence[]): void {
    for (const o of occurrences) this.active.set(o.fingerprint, { occurrenceId: o.occurrenceId, lastTs: o.lastTs });
  }

  private activeAt(fingerprint: string, ts: number): Occurrence | undefined {
    const occurrence = this.active.get(fingerprint);
    if (!occurrence || Math.abs(ts - occurrence.lastTs) > this.mergeWithinMs) return undefined;
    return occurrence;
  }

  correlate(signal: Signal, enrichment: Enrichment): IncidentUpdate[] {
    const { event } = signal;
    const detector = `${signal.entry.id}/${signal.detectorId}`;

    // A more specific entry already explains this burst: the signal is its evidence.
    for (const specific of this.supersededBy.get(signal.entry.id) ?? []) {
      const fingerprint = fingerprintOf(specific.id, event.host, enrichment);
      const occurrence = this.activeAt(fingerprint, event.ts);
      if (occurrence) return this.file(specific, fingerprint, occurrence, signal, enrichment, detector);
    }

    const fingerprint = fingerprintOf(signal.entry.id, event.host, enrichment);
    let occurrence = this.activeAt(fingerprint, event.ts);
    if (!occurrence) {
      if (signal.evidenceOnly) return [];
      occurrence = { occurrenceId: (signal.related[0] ?? event).id, lastTs: event.ts };
      this.active.set(fingerprint, occurrence);
    }
    const updates = this.file(signal.entry, fingerprint, occurrence, signal, enrichment, detector);

    for (const generalId of signal.entry.supersedes ?? []) {
      const generalFingerprint = fingerprintOf(generalId, event.host, enrichment);
      const general = this.activeAt(generalFingerprint, event.ts);
      if (!general) continue;
      updates.push({
        op: 'retract',
        fingerprint: generalFingerprint,
        occurrenceId: general.occurrenceId,
        intoFingerprint: fingerprint,
        intoOccurrenceId: occurrence.occurrenceId,
      });
      this.active.delete(generalFingerprint);
    }
    return updates;
  }

  private file(
    entry: KbEntry,
    fingerprint: string,
    occurrence: Occurrence,
    signal: Signal,
    enrichment: Enrichment,
    detector: string,
  ): IncidentUpdate[] {
    occurrence.lastTs = Math.max(occurrence.lastTs, signal.event.ts);
    return [...signal.related, signal.event].map((event) => ({
      op: 'signal' as const,
      proposedId: incidentIdFor(fingerprint, occurrence.occurrenceId),
      fingerprint,
      kbId: entry.id,
      title: entry.title,
      severity: entry.severity,
      host: event.host,
      container: enrichment.container,
      compose: enrichment.compose,
      facts: enrichment.facts,
      evidence: evidenceOf(event, occurrence.occurrenceId, detector),
    }));
  }

  /**
   * A risk the audit found on a container start: a low-severity incident of its own (`risk:`
   * fingerprint, never merged with an outage of the same entry), one occurrence per container and
   * entry, so restarts add evidence, not occurrences.
   */
  risk(event: NormalizedEvent, entry: KbEntry, enrichment: Enrichment): IncidentUpdate[] {
    const fingerprint = fingerprintOf(`risk:${entry.id}`, event.host, enrichment);
    const occurrenceId = `${event.container?.id ?? 'host'}:${entry.id}`;
    return [
      {
        op: 'signal',
        proposedId: incidentIdFor(fingerprint, occurrenceId),
        fingerprint,
        kbId: entry.id,
        title: `Risk: ${entry.title}`,
        severity: 'low',
        host: event.host,
        container: enrichment.container,
        compose: enrichment.compose,
        facts: enrichment.facts,
        evidence: evidenceOf(event, occurrenceId, `${entry.id}/audit`),
      },
    ];
  }

  /** Forgets occurrences that can no longer merge with anything (bounded memory). */
  sweep(now: number): void {
    for (const [fingerprint, occurrence] of this.active) {
      if (now - occurrence.lastTs > this.mergeWithinMs * 2) this.active.delete(fingerprint);
    }
  }
}
