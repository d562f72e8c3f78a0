import { createHash } from 'node:crypto';
import type { NormalizedEvent } from '../../shared/event.js';
import type { Evidence, IncidentUpdate } from '../../shared/incident.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import type { KbEntry } from '../../shared/kb/schema.js';
import type { ActiveOccurrence } from '../../shared/store/index.js';
import type { Signal } from './detect.js';
import type { Enrichment } from './enrich.js';
import { PASTED_SOURCE } from './parse.js';

/** Signals for one fingerprint closer than this are one occurrence (an oom event, its kernel lines, its die). */
export const DEFAULT_MERGE_WITHIN_MS = 60_000;

/**
 * How far, in event time, a container-scoped signal that names no container may be from the
 * occurrence it joins; it is held this long for the occurrences around it to open.
 */
const ATTRIBUTION_HOLD_MS = 5_000;

const NO_UPDATES: readonly IncidentUpdate[] = Object.freeze([]);

/**
 * Docker actions the engine repeats for one happening: on cgroup v2, containerd publishes an `oom`
 * for every change of a container's memory.events once its oom_kill count is non-zero, so one kill
 * can bring hundreds of `oom` events. An occurrence keeps a container's first as evidence; the
 * kernel's kill lines tell kills apart.
 */
const REPEATED_DOCKER_ACTIONS: ReadonlySet<string> = new Set(['oom']);

interface Occurrence {
  occurrenceId: string;
  lastTs: number;
  /** incidentIdFor its fingerprint and id, hashed once (an occurrence has one fingerprint). */
  proposedId?: string;
  /** The event kept of each REPEATED_DOCKER_ACTIONS, by `container id/action`. */
  kept?: Map<string, string>;
  /** Event time of its first signal (or of the events that led to it); unknown for occurrences restored from the store. */
  beganAt?: number;
  /** The fingerprint of the occurrence it was linked under as a consequence (a `link` update). */
  causeFingerprint?: string;
  /** Known for occurrences this process filed (not for those restored from the store). */
  filed?: {
    entry: KbEntry;
    enrichment: Enrichment;
    firstTs: number;
    /** Detectors with evidence here: a container-scoped signal prefers an occurrence lacking its own. */
    detectors: Set<string>;
  };
}

export interface CorrelatorOptions {
  mergeWithinMs?: number;
  /** A container-scoped signal that names no container found no occurrence to join and was dropped. */
  onUnattributed?: (signal: Signal) => void;
}

/** What groups occurrences into one incident: KB entry, host, and compose service or container name. */
function fingerprintOf(kbId: string, host: string, enrichment: Enrichment): string {
  const subject = enrichment.compose
    ? `svc:${enrichment.compose.project}/${enrichment.compose.service}`
    : enrichment.container
      ? `ctr:${enrichment.container.name}`
      : 'host';
  return `${kbId}|${host}|${subject}`;
}

/** An active occurrence that may have caused another one, and when it began. */
export interface CauseCandidate {
  fingerprint: string;
  beganAt: number;
}

/**
 * The cause of an occurrence that began at `beganAt`, among the active occurrences (within the merge
 * window) of the entries its entry names in `consequenceOf`, for the same container: the one that
 * began first, unless it began more than ATTRIBUTION_HOLD_MS after the consequence (the engine and
 * the kernel report one happening in either order, so a few seconds either way are one moment).
 */
export function causeOf(beganAt: number, candidates: readonly CauseCandidate[]): string | undefined {
  let first: CauseCandidate | undefined;
  for (const c of candidates) {
    if (c.beganAt > beganAt + ATTRIBUTION_HOLD_MS) continue;
    if (!first || c.beganAt < first.beganAt || (c.beganAt === first.beganAt && c.fingerprint < first.fingerprint)) first = c;
  }
  return first?.fingerprint;
}

/** Orders candidates: lacking the detector first, then nearest in time, then by id (deterministic). */
function compareRanks(a: [number, number, string], b: [number, number, string]): number {
  return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}

const incidentIdFor = (fingerprint: string, occurrenceId: string): string =>
  createHash('sha256').update(`${fingerprint}\n${occurrenceId}`).digest('base64url').slice(0, 22);

function evidenceOf(event: NormalizedEvent, occurrenceId: string, detector: string, note: string | undefined): Evidence {
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
    ...(note ? { note } : {}),
  };
}

/**
 * Correlates signals into incident updates: one occurrence per burst of related signals, evidence-only
 * detectors attach to an open occurrence, a more specific entry (jvm-heap) takes over the
 * occurrence of the entry it supersedes (oom-kill) instead of filing a second incident, and an
 * occurrence that is a consequence of another of its container (a crash loop of OOM kills) is
 * linked under it.
 */
export class Correlator {
  private readonly active = new Map<string, Occurrence>();
  private readonly supersededBy = new Map<string, KbEntry[]>();
  /** Entry ids by the entries that name them in `consequenceOf`, and the other way round. */
  private readonly causes = new Map<string, readonly string[]>();
  private readonly consequences = new Map<string, string[]>();
  /** Detectors (`entry/detector`) with `attribution: container`. */
  private readonly containerScoped = new Set<string>();
  /** Container-scoped signals naming no container, waiting for their occurrence, by event id. */
  private readonly held = new Map<string, Signal>();
  /**
   * Evidence-only signals that came before any occurrence they could join, by fingerprint: the
   * engine may report a container's `die` before its `oom`, and the kernel's report of the kill
   * reaches the classifier later still. An occurrence opening within ATTRIBUTION_HOLD_MS takes them.
   */
  private readonly early = new Map<string, { signal: Signal; enrichment: Enrichment }[]>();
  /** Where each held signal went (fingerprint), so a replayed event joins the same occurrence. */
  private readonly joined = new Map<string, { fingerprint: string; ts: number }>();
  private readonly mergeWithinMs: number;
  private readonly onUnattributed: (signal: Signal) => void;

  constructor(kb: KnowledgeBase, options: CorrelatorOptions = {}) {
    this.mergeWithinMs = options.mergeWithinMs ?? DEFAULT_MERGE_WITHIN_MS;
    this.onUnattributed = options.onUnattributed ?? (() => undefined);
    for (const entry of kb.entries) {
      for (const detector of entry.detectors) {
        if (detector.attribution === 'container') this.containerScoped.add(`${entry.id}/${detector.id}`);
      }
      for (const other of entry.supersedes ?? []) {
        this.supersededBy.set(other, [...(this.supersededBy.get(other) ?? []), entry]);
      }
      if (entry.consequenceOf) this.causes.set(entry.id, entry.consequenceOf);
      for (const causeId of entry.consequenceOf ?? []) this.consequences.set(causeId, [...(this.consequences.get(causeId) ?? []), entry.id]);
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

    // A line of a container's report that names no container (the kernel rate-limited the lines
    // that would): it joins that container's occurrence, never a host-level one. Pasted lines have
    // no occurrences around them and match as usual.
    if (!enrichment.container && event.source !== PASTED_SOURCE && this.containerScoped.has(detector)) {
      const previous = this.joined.get(event.id);
      const occurrence = previous ? this.active.get(previous.fingerprint) : undefined;
      if (previous && occurrence?.filed) return this.file(occurrence.filed.entry, previous.fingerprint, occurrence, signal, occurrence.filed.enrichment, detector);
      if (!previous) this.held.set(event.id, signal);
      return [];
    }

    // A more specific entry already explains this burst: the signal is its evidence.
    for (const specific of this.supersededBy.get(signal.entry.id) ?? []) {
      const fingerprint = fingerprintOf(specific.id, event.host, enrichment);
      const occurrence = this.activeAt(fingerprint, event.ts);
      if (occurrence) return this.file(specific, fingerprint, occurrence, signal, enrichment, detector);
    }

    const fingerprint = fingerprintOf(signal.entry.warningOf ?? signal.entry.id, event.host, enrichment);
    let occurrence = this.activeAt(fingerprint, event.ts);
    // The failure a warning warned of (warningOf) is an occurrence of its own in the warning's
    // incident: the store raises the incident to its entry, and its count tells receivers.
    if (occurrence?.filed?.entry.warningOf === signal.entry.id) occurrence = undefined;
    const opens = !occurrence;
    if (!occurrence) {
      if (signal.evidenceOnly) {
        this.early.set(fingerprint, [...(this.early.get(fingerprint) ?? []), { signal, enrichment }]);
        return [];
      }
      occurrence = { occurrenceId: (signal.related[0] ?? event).id, lastTs: event.ts, beganAt: Math.min(event.ts, ...signal.related.map((e) => e.ts)) };
      this.active.set(fingerprint, occurrence);
    }
    const updates = this.file(signal.entry, fingerprint, occurrence, signal, enrichment, detector);
    if (opens) {
      const own = [fingerprint, ...(signal.entry.supersedes ?? []).map((generalId) => fingerprintOf(generalId, event.host, enrichment))];
      updates.push(...this.fileEarly(own, signal.entry, fingerprint, occurrence));
    }

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
      // Consequences linked under the retracted occurrence follow it into the one that explains it.
      for (const [consequenceFingerprint, consequence] of this.active) {
        if (consequence.causeFingerprint !== generalFingerprint) continue;
        consequence.causeFingerprint = fingerprint;
        updates.push({ op: 'link', fingerprint: consequenceFingerprint, causeFingerprint: fingerprint });
      }
    }
    if (opens && enrichment.container) updates.push(...this.link(signal.entry, fingerprint, occurrence, event.host, enrichment, event.ts));
    return updates;
  }

  /**
   * Links an occurrence that just opened to its cause (causeOf), or, when its entry is a cause, the
   * unlinked consequences of the same container that began while it did: whichever the classifier
   * sees first, the KB's `consequenceOf` decides which is the cause.
   */
  private link(entry: KbEntry, fingerprint: string, occurrence: Occurrence, host: string, enrichment: Enrichment, ts: number): IncidentUpdate[] {
    const updates: IncidentUpdate[] = [];
    const began = (o: Occurrence) => o.beganAt ?? o.lastTs;
    const candidates = (this.causes.get(entry.id) ?? []).flatMap((causeId) => {
      const causeFingerprint = fingerprintOf(causeId, host, enrichment);
      const cause = this.activeAt(causeFingerprint, ts);
      return cause ? [{ fingerprint: causeFingerprint, beganAt: began(cause) }] : [];
    });
    const cause = causeOf(began(occurrence), candidates);
    if (cause !== undefined) {
      occurrence.causeFingerprint = cause;
      updates.push({ op: 'link', fingerprint, causeFingerprint: cause });
    }
    for (const consequenceId of this.consequences.get(entry.id) ?? []) {
      const consequenceFingerprint = fingerprintOf(consequenceId, host, enrichment);
      const consequence = this.activeAt(consequenceFingerprint, ts);
      if (!consequence || consequence.causeFingerprint !== undefined) continue;
      if (causeOf(began(consequence), [{ fingerprint, beganAt: began(occurrence) }]) === undefined) continue;
      consequence.causeFingerprint = fingerprint;
      updates.push({ op: 'link', fingerprint: consequenceFingerprint, causeFingerprint: fingerprint });
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
    if (enrichment.container) {
      occurrence.filed ??= { entry, enrichment, firstTs: signal.event.ts, detectors: new Set() };
      occurrence.filed.enrichment = enrichment;
      occurrence.filed.firstTs = Math.min(occurrence.filed.firstTs, signal.event.ts);
      occurrence.filed.detectors.add(detector);
    }
    return [...signal.related, signal.event].filter((event) => !this.repeats(occurrence, event)).map((event) => ({
      op: 'signal' as const,
      proposedId: (occurrence.proposedId ??= incidentIdFor(fingerprint, occurrence.occurrenceId)),
      fingerprint,
      kbId: entry.id,
      title: entry.title,
      severity: entry.severity,
      host: event.host,
      container: enrichment.container,
      compose: enrichment.compose,
      facts: enrichment.facts,
      evidence: evidenceOf(event, occurrence.occurrenceId, detector, event === signal.event ? signal.note : undefined),
    }));
  }

  /**
   * Whether the event repeats another Docker event of its container already in the occurrence's
   * evidence (REPEATED_DOCKER_ACTIONS); the kept event itself, replayed, is no repeat.
   */
  private repeats(occurrence: Occurrence, event: NormalizedEvent): boolean {
    const action = event.docker?.action;
    if (action === undefined || !REPEATED_DOCKER_ACTIONS.has(action)) return false;
    const key = `${event.container?.id ?? ''}/${action}`;
    occurrence.kept ??= new Map();
    const kept = occurrence.kept.get(key);
    if (kept === undefined) occurrence.kept.set(key, event.id);
    return kept !== undefined && kept !== event.id;
  }

  /**
   * Event time on `host` reached `ts`: held signals older than ATTRIBUTION_HOLD_MS join the
   * occurrence of their entry (or of one superseding it) for a container on the same host within
   * ATTRIBUTION_HOLD_MS of them, preferring one without evidence of the same detector and then the
   * nearest; without one they are dropped. Cheap when nothing is held (the common case).
   */
  advance(host: string, ts: number): readonly IncidentUpdate[] {
    if (this.early.size > 0) this.forgetEarly((signal) => signal.event.host === host && ts - signal.event.ts > ATTRIBUTION_HOLD_MS);
    if (this.held.size === 0) return NO_UPDATES;
    const updates: IncidentUpdate[] = [];
    for (const [eventId, signal] of this.held) {
      if (signal.event.host !== host || ts - signal.event.ts <= ATTRIBUTION_HOLD_MS) continue;
      this.held.delete(eventId);
      updates.push(...this.attribute(signal));
    }
    return updates;
  }

  /** Files into an occurrence that just opened the early evidence held under `fingerprints` (see `early`). */
  private fileEarly(fingerprints: readonly string[], entry: KbEntry, fingerprint: string, occurrence: Occurrence): IncidentUpdate[] {
    const updates: IncidentUpdate[] = [];
    for (const key of fingerprints) {
      const held = this.early.get(key);
      if (!held) continue;
      const joining = held.filter(({ signal }) => Math.abs(signal.event.ts - occurrence.lastTs) <= ATTRIBUTION_HOLD_MS);
      const left = held.filter((h) => !joining.includes(h));
      if (left.length > 0) this.early.set(key, left);
      else this.early.delete(key);
      for (const { signal, enrichment } of joining) {
        updates.push(...this.file(entry, fingerprint, occurrence, signal, enrichment, `${signal.entry.id}/${signal.detectorId}`));
      }
    }
    return updates;
  }

  /** Drops the early evidence `expired` says no occurrence will take any more. */
  private forgetEarly(expired: (signal: Signal) => boolean): void {
    for (const [key, held] of this.early) {
      const left = held.filter(({ signal }) => !expired(signal));
      if (left.length > 0) this.early.set(key, left);
      else this.early.delete(key);
    }
  }

  private attribute(signal: Signal): IncidentUpdate[] {
    const { event } = signal;
    const detector = `${signal.entry.id}/${signal.detectorId}`;
    const entryIds = [signal.entry.id, ...(this.supersededBy.get(signal.entry.id) ?? []).map((e) => e.id)];
    let best: { fingerprint: string; occurrence: Occurrence; rank: [number, number, string] } | undefined;
    for (const [fingerprint, occurrence] of this.active) {
      const filed = occurrence.filed;
      if (!filed?.enrichment.container || !entryIds.includes(filed.entry.id) || !fingerprint.startsWith(`${filed.entry.id}|${event.host}|`)) continue;
      if (event.ts < filed.firstTs - ATTRIBUTION_HOLD_MS || event.ts > occurrence.lastTs + ATTRIBUTION_HOLD_MS) continue;
      const rank: [number, number, string] = [filed.detectors.has(detector) ? 1 : 0, Math.abs(event.ts - filed.firstTs), occurrence.occurrenceId];
      if (!best || compareRanks(rank, best.rank) < 0) best = { fingerprint, occurrence, rank };
    }
    if (!best?.occurrence.filed) {
      this.onUnattributed(signal);
      return [];
    }
    this.joined.set(event.id, { fingerprint: best.fingerprint, ts: event.ts });
    const { entry, enrichment } = best.occurrence.filed;
    return this.file(entry, best.fingerprint, best.occurrence, signal, enrichment, detector);
  }

  /**
   * Forgets occurrences that can no longer merge with anything (bounded memory), and settles the
   * signals held on a host whose events stopped (their occurrences had ample time to open).
   */
  sweep(now: number): IncidentUpdate[] {
    this.forgetEarly((signal) => now - signal.event.ts > this.mergeWithinMs);
    const updates: IncidentUpdate[] = [];
    for (const [eventId, signal] of this.held) {
      if (now - signal.event.ts <= this.mergeWithinMs) continue;
      this.held.delete(eventId);
      updates.push(...this.attribute(signal));
    }
    for (const [fingerprint, occurrence] of this.active) {
      if (now - occurrence.lastTs > this.mergeWithinMs * 2) this.active.delete(fingerprint);
    }
    for (const [eventId, { ts }] of this.joined) if (now - ts > this.mergeWithinMs * 2) this.joined.delete(eventId);
    return updates;
  }
}
