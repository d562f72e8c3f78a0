import { z } from 'zod';
import type { Incident, IncidentDetail, IncidentUpdate, LifecycleMark } from '../incident.js';
import type { Silence } from '../silence.js';
import { IncidentStatus } from '../incident.js';
import { Severity } from '../kb/schema.js';

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

const timeParam = z.union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{10,13}$/)]).transform((v) =>
  /^\d+$/.test(v) ? (v.length <= 10 ? Number(v) * 1000 : Number(v)) : Date.parse(v),
);

/** Search parameters, shared by the REST API and both store implementations. */
export const IncidentQuery = z
  .object({
    /** Full-text search over title, message, container, image and the KB entry's text. */
    q: z.string().trim().max(500).optional(),
    kb: z.string().max(100).optional(),
    host: z.string().max(253).optional(),
    /** Container name, or id (prefix of at least 12 hex characters). */
    container: z.string().max(256).optional(),
    severity: Severity.optional(),
    status: IncidentStatus.optional(),
    /** Incidents seen at or after this time (ISO 8601 or epoch seconds/ms). */
    since: timeParam.optional(),
    until: timeParam.optional(),
    /** Incidents changed (evidence, status) at or after this time: what a poller or the notifier catches up on. */
    updatedSince: timeParam.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
    /** Opaque cursor from the previous page's `nextCursor`. */
    cursor: z.string().max(200).optional(),
  })
  .strict();
export type IncidentQuery = z.infer<typeof IncidentQuery>;

export interface IncidentPage {
  incidents: Incident[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** A recently active occurrence, so a restarted classifier keeps correlating where it left off. */
export interface ActiveOccurrence {
  fingerprint: string;
  incidentId: string;
  occurrenceId: string;
  lastTs: number;
}

/** How incidents move along open -> acknowledged -> resolved, set once per store. */
export interface LifecycleOptions {
  /**
   * A new occurrence of a resolved incident's fingerprint within this long (ms) after it was
   * resolved re-opens it; later, it starts a new incident. Default 1 h.
   */
  reopenWindowMs?: number;
}

export const DEFAULT_REOPEN_WINDOW_MS = 3_600_000;

/** What resolves an incident: a person (or tool) with a token, or the quiet period. */
export type ResolveMark = LifecycleMark & { auto: boolean };

/** The incident store: embedded SQLite all-in-one, Elasticsearch distributed; same contract. */
export interface IncidentStore {
  /**
   * Applies updates idempotently; resolves once they are durable, with the incidents that changed
   * (filed, new evidence, re-opened, occurrence moved). A replay returns no incident.
   */
  apply(updates: IncidentUpdate[]): Promise<Incident[]>;
  /** open -> acknowledged; an acknowledged one stays as it is. Undefined when there is no such incident. */
  acknowledge(id: string, mark: LifecycleMark): Promise<Incident | undefined>;
  /** open or acknowledged -> resolved; a resolved one stays as it is. */
  resolve(id: string, mark: ResolveMark): Promise<Incident | undefined>;
  /** Resolves (auto) every unresolved incident quiet since before `now - quietMs(kbId)`; returns them. */
  resolveQuiet(now: number, quietMs: (kbId: string) => number): Promise<Incident[]>;
  /** Silences, kept with the incidents so every API replica sees the same. */
  putSilence(silence: Silence): Promise<void>;
  silences(): Promise<Silence[]>;
  /** False when there was no such silence. */
  deleteSilence(id: string): Promise<boolean>;
  search(query: IncidentQuery): Promise<IncidentPage>;
  get(id: string): Promise<IncidentDetail | undefined>;
  /** Occurrences whose last evidence is at or after `sinceTs`. */
  activeOccurrences(sinceTs: number): Promise<ActiveOccurrence[]>;
  close(): Promise<void>;
}
