import { z } from 'zod';
import type { Incident, IncidentDetail, IncidentUpdate } from '../incident.js';
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

/** The incident store: embedded SQLite all-in-one, Elasticsearch distributed; same contract. */
export interface IncidentStore {
  /** Applies updates idempotently; resolves once they are durable. */
  apply(updates: IncidentUpdate[]): Promise<void>;
  search(query: IncidentQuery): Promise<IncidentPage>;
  get(id: string): Promise<IncidentDetail | undefined>;
  /** Occurrences whose last evidence is at or after `sinceTs`. */
  activeOccurrences(sinceTs: number): Promise<ActiveOccurrence[]>;
  close(): Promise<void>;
}
