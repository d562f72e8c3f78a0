import { z } from 'zod';
import { ContainerFacts, EventKind, LastWords } from './event.js';
import { Severity } from './kb/schema.js';
import { MemoryCurve, MemoryUsers, OomScope } from './memory-curve.js';

export const IncidentStatus = z.enum(['open', 'acknowledged', 'resolved']);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

/** Characters kept of an evidence note. */
export const MAX_NOTE = 2000;

/** One event that contributed to an incident, as kept and shown with it. */
export const Evidence = z.object({
  eventId: z.string(),
  /** The occurrence this event belongs to (the id of the occurrence's first event). */
  occurrenceId: z.string(),
  /** Which detector of the KB entry matched (`<entry>/<detector>`). */
  detector: z.string(),
  ts: z.number().int(),
  kind: EventKind,
  source: z.string(),
  message: z.string(),
  action: z.string().optional(),
  exitCode: z.number().int().optional(),
  /** What the event means in the container's setup (the detector's KB note): the mount it filled, the node whose data a volume holds. */
  note: z.string().max(MAX_NOTE).optional(),
});
export type Evidence = z.infer<typeof Evidence>;

/**
 * One difference between the container's setup at this incident and at its last start that ran
 * cleanly for a while: `image`, `imageId`, `command`, `env.NAME` (names only: `set` or null), a limit
 * (`limits.memory`...), `restartPolicy`, `mount:<destination>`, `label.KEY`. Null means absent.
 */
export const ConfigChange = z.object({
  field: z.string().max(600),
  before: z.string().max(4096).nullable(),
  after: z.string().max(4096).nullable(),
});
export type ConfigChange = z.infer<typeof ConfigChange>;

/** What the classifier adds to an incident besides evidence: the container's last words, what changed, its memory before an OOM kill and which limit it exhausted. */
export const IncidentContext = z.object({
  lastWords: LastWords.optional(),
  changes: z.array(ConfigChange).max(500).optional(),
  memoryCurve: MemoryCurve.optional(),
  oomScope: OomScope.optional(),
  memoryUsers: MemoryUsers.optional(),
});
export type IncidentContext = z.infer<typeof IncidentContext>;

export const IncidentContainer = z.object({ id: z.string(), name: z.string(), image: z.string() });

/** Who moved an incident along its lifecycle, when, and why. */
export const LifecycleMark = z.object({
  /** The token's name (or `fineprint` for an automatic resolve). */
  by: z.string(),
  at: z.iso.datetime(),
  comment: z.string().optional(),
});
export type LifecycleMark = z.infer<typeof LifecycleMark>;

/** An incident as the API serves it. */
export const Incident = z.object({
  id: z.string(),
  /** kbId + host + container name or compose service: what groups occurrences. */
  fingerprint: z.string(),
  kbId: z.string(),
  title: z.string(),
  severity: Severity,
  status: IncidentStatus,
  host: z.string(),
  container: IncidentContainer.nullable(),
  compose: z.object({ project: z.string(), service: z.string() }).nullable(),
  /** Occurrences: signals close together in time (an oom event, its kernel lines, its die) count once. */
  count: z.number().int().nonnegative(),
  /** Pieces of evidence filed, all of them: the first and last few are kept (IncidentDetail.evidence), the ones between only counted. */
  evidenceCount: z.number().int().nonnegative(),
  firstSeen: z.iso.datetime(),
  lastSeen: z.iso.datetime(),
  /** The message of the latest evidence. */
  message: z.string(),
  /** What happened, as a sentence built from the evidence and the container's facts (incidentSummary). */
  summary: z.string(),
  /** Set while acknowledged; cleared when a recurrence re-opens the incident. */
  acknowledged: LifecycleMark.nullable(),
  /** Set while resolved; `auto` when resolved after the KB entry's quiet period. */
  resolved: LifecycleMark.extend({ auto: z.boolean() }).nullable(),
  /** Times a recurrence re-opened this incident after it was resolved. */
  reopened: z.number().int().nonnegative(),
  /** Last change of anything on the incident (evidence, status), set by the store. */
  updatedAt: z.iso.datetime(),
  /**
   * The incident this one is a consequence of: one of its container within the merge window whose KB
   * entry this entry names in `consequenceOf` (an OOM kill before a crash loop); null when none.
   */
  causedBy: z.string().nullable(),
});
export type Incident = z.infer<typeof Incident>;

/** Consequences an incident's detail lists. */
export const MAX_CONSEQUENCES = 100;

/** Another incident as a linked one names it. */
export const IncidentLink = z.object({ id: z.string(), kbId: z.string(), title: z.string() });
export type IncidentLink = z.infer<typeof IncidentLink>;

export const IncidentDetail = Incident.extend({
  facts: ContainerFacts.nullable(),
  /** The evidence kept, most recent first: the incident's first and last pieces (FINEPRINT_EVIDENCE_KEPT of each); `evidenceCount` minus these were not kept. */
  evidence: z.array(Evidence),
  /** The last lines the container wrote before it died; absent when it wrote none or did not die. */
  lastWords: LastWords.optional(),
  /** What differs from the container's last start that ran cleanly for a while; absent when unknown. */
  changes: z.array(ConfigChange).optional(),
  /** The container's memory usage against its limit up to its OOM kill; absent without a limit or readings. */
  memoryCurve: MemoryCurve.optional(),
  /** Which limit the OOM kill exhausted, from the kernel's report; absent when the kernel did not say. */
  oomScope: OomScope.optional(),
  /** For a global OOM (the host's memory ran out): the containers and processes using the most memory at that moment. */
  memoryUsers: MemoryUsers.optional(),
  /** The incident `causedBy` names; null when none, or when it has expired since. */
  cause: IncidentLink.nullable(),
  /** The incidents that name this one as their cause (`causedBy`), first seen first, at most MAX_CONSEQUENCES. */
  consequences: z.array(IncidentLink).max(MAX_CONSEQUENCES),
});
export type IncidentDetail = z.infer<typeof IncidentDetail>;

/**
 * What the classifier asks a store to do. Applying the same update twice changes nothing: evidence
 * is keyed by (incident, event id) and an incident's count is the number of its distinct occurrences.
 */
export const IncidentUpdate = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('signal'),
    /**
     * Id for a new incident; the store files the signal under the fingerprint's current incident if
     * one exists, so a restarted classifier never splits an incident in two.
     */
    proposedId: z.string(),
    fingerprint: z.string(),
    kbId: z.string(),
    title: z.string(),
    severity: Severity,
    host: z.string(),
    container: IncidentContainer.nullable(),
    compose: z.object({ project: z.string(), service: z.string() }).nullable(),
    facts: ContainerFacts.nullable(),
    evidence: Evidence,
    /** Context to merge into the incident (each part replaces the one it had). */
    context: IncidentContext.optional(),
  }),
  /** An occurrence that a more specific entry explains (a JVM OOM kill): moved, not doubled. */
  z.object({
    op: z.literal('retract'),
    fingerprint: z.string(),
    occurrenceId: z.string(),
    intoFingerprint: z.string(),
    intoOccurrenceId: z.string(),
  }),
  /**
   * The fingerprint's current incident is a consequence of `causeFingerprint`'s current incident
   * (its `causedBy`); nothing happens unless both are unresolved. The latest link wins.
   */
  z.object({
    op: z.literal('link'),
    fingerprint: z.string(),
    causeFingerprint: z.string(),
  }),
]);
export type IncidentUpdate = z.infer<typeof IncidentUpdate>;

/** What the classifier writes to the incidents topic: one batch's updates, applied in order. */
export const IncidentUpdateBatch = z.object({
  v: z.literal(1),
  updates: z.array(IncidentUpdate).min(1).max(1000),
});
export type IncidentUpdateBatch = z.infer<typeof IncidentUpdateBatch>;
