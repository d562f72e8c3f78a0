import { z } from 'zod';
import type { Incident, IncidentDetail, IncidentUpdate, LifecycleMark } from '../incident.js';
import type { RiskStore } from '../risk.js';
import type { Silence } from '../silence.js';
import type { ExpiredCounts } from './retention.js';
import type { IncidentStats, StatsQuery } from './stats.js';
import { IncidentStatus } from '../incident.js';
import { Severity } from '../kb/schema.js';
import { MAX_SEARCH_TERMS, MIN_TERM_LENGTH, QUERY_BUDGET_MS } from './search-terms.js';
import { SEARCHED_EVIDENCE, SEARCHED_MESSAGE_CHARS } from './incident-rules.js';

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

export const timeParam = z.union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{10,13}$/)]).transform((v) =>
  /^\d+$/.test(v) ? (v.length <= 10 ? Number(v) * 1000 : Number(v)) : Date.parse(v),
);

/** `severity`: one severity or several, separated by commas. */
const SEVERITY_LIST = new RegExp(`^(${Severity.options.join('|')})( *, *(${Severity.options.join('|')}))*$`);

/** Search parameters, shared by the REST API and both store implementations. */
export const IncidentQuery = z
  .object({
    q: z
      .string()
      .trim()
      .max(500)
      .optional()
      .describe(
        `Full-text search over title, message, container, image, the KB entry's text and the messages of the incident's ${SEARCHED_EVIDENCE} newest pieces of evidence (their first ${SEARCHED_MESSAGE_CHARS} characters); every word must match (as a prefix; case and accents ignored). Repeated words count once; words shorter than ${MIN_TERM_LENGTH} characters are left out (as a prefix they match nearly everything). More than ${MAX_SEARCH_TERMS} distinct words is a 400 \`FP_QUERY_TOO_COMPLEX\`; a search that takes longer than ${QUERY_BUDGET_MS / 1000} s answers 503 \`FP_QUERY_TIMEOUT\` (narrow it with filters).`,
      ),
    kb: z.string().max(100).optional().describe('KB entry id, e.g. oom-kill.'),
    host: z.string().max(253).optional().describe('Host name, exactly.'),
    container: z.string().max(256).optional().describe('Container name, compose service, or container id prefix (at least 12 hex characters).'),
    severity: z
      .string()
      .regex(SEVERITY_LIST, `one or more of ${Severity.options.join(', ')}, separated by commas`)
      .transform((v) => v.split(',').map((s) => Severity.parse(s.trim())))
      .optional()
      .describe(`One severity, or several separated by commas (e.g. \`critical,high\`): incidents of any of them. One of ${Severity.options.join(', ')}.`),
    minSeverity: Severity.optional().describe('This severity or worse, e.g. `medium`: medium, high and critical (with `severity`, both must hold).'),
    status: IncidentStatus.optional().describe('Lifecycle status.'),
    since: timeParam.optional().describe('Incidents last seen at or after this time (ISO 8601, or epoch seconds or milliseconds).'),
    until: timeParam.optional().describe('Incidents first seen at or before this time (ISO 8601, or epoch seconds or milliseconds).'),
    updatedSince: timeParam
      .optional()
      .describe('Incidents changed (evidence, status) at or after this time: what a poller catches up on (ISO 8601, or epoch seconds or milliseconds).'),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE).describe(`Page size (default ${DEFAULT_PAGE}, at most ${MAX_PAGE}).`),
    cursor: z.string().max(200).optional().describe("Opaque cursor from the previous page's nextCursor."),
  })
  .strict();
export type IncidentQuery = z.infer<typeof IncidentQuery>;

export interface IncidentPage {
  incidents: Incident[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** How many of the matching incidents have one value of a field. */
export const FacetCount = z.object({ value: z.string(), count: z.number().int().nonnegative() });
export type FacetCount = z.infer<typeof FacetCount>;

/** Buckets of a histogram over time; also the number of buckets the store makes. */
export const HISTOGRAM_BUCKETS = 24;
/** Values per facet: the most frequent ones, count descending then value ascending. */
export const FACET_SIZE = 50;
/** The narrowest histogram bucket (ms): a range of a few seconds does not split into milliseconds. */
const MIN_BUCKET_MS = 1000;

/** A histogram of the matching incidents by `lastSeen`. */
export const IncidentHistogram = z.object({
  /** Start of the first bucket (ISO 8601): the query's `since`, else the earliest matching `lastSeen`; null without buckets. */
  from: z.iso.datetime().nullable(),
  /** Width of every bucket in ms (at least MIN_BUCKET_MS). */
  bucketMs: z.number().int().positive(),
  /**
   * Incidents whose `lastSeen` falls in each bucket, oldest first: HISTOGRAM_BUCKETS of them, or none
   * when nothing matches and the query has no time range. Buckets end at the query's `until`, else at
   * the latest matching `lastSeen`; an incident seen after `until` (it began before) is in no bucket.
   */
  counts: z.array(z.number().int().nonnegative()),
});
export type IncidentHistogram = z.infer<typeof IncidentHistogram>;

/**
 * Facet counts of everything a query matches (its `cursor` and `limit` are ignored): what the
 * history page shows next to the list. Each facet lists at most FACET_SIZE values.
 */
export const IncidentFacets = z.object({
  /** Matching incidents. */
  total: z.number().int().nonnegative(),
  /** By KB entry id. */
  kb: z.array(FacetCount),
  /** By host name. */
  host: z.array(FacetCount),
  /** By severity. */
  severity: z.array(FacetCount),
  /** By status (open, acknowledged, resolved). */
  status: z.array(FacetCount),
  /** By container name; host-level incidents have none and are not counted here. */
  container: z.array(FacetCount),
  histogram: IncidentHistogram,
});
export type IncidentFacets = z.infer<typeof IncidentFacets>;

/** Where a histogram's buckets start (epoch ms) and how wide they are (ms). */
export interface HistogramRange {
  from: number;
  bucketMs: number;
}

/** The histogram's range: the query's time range, completed by the matching incidents' `lastSeen` span. */
export function histogramRange(query: IncidentQuery, seen: { min: number; max: number } | undefined): HistogramRange | undefined {
  const to = query.until ?? seen?.max;
  if (to === undefined) return undefined;
  const from = query.since ?? (seen ? Math.min(seen.min, to) : undefined);
  if (from === undefined || to < from) return undefined;
  return { from, bucketMs: Math.max(MIN_BUCKET_MS, Math.ceil((to - from + 1) / HISTOGRAM_BUCKETS)) };
}

/** The histogram of a range from the stores' counts per bucket index (0 = oldest); indices outside it are dropped. */
export function histogramOf(range: HistogramRange | undefined, buckets: readonly { index: number; count: number }[]): IncidentHistogram {
  if (!range) return { from: null, bucketMs: MIN_BUCKET_MS, counts: [] };
  const counts = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
  for (const { index, count } of buckets) if (index >= 0 && index < HISTOGRAM_BUCKETS) counts[index] = count;
  return { from: new Date(range.from).toISOString(), bucketMs: range.bucketMs, counts };
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
  /** Pieces of evidence kept at each end of an incident (keepEvidence); the ones between are counted only. Default DEFAULT_EVIDENCE_KEPT. */
  evidenceKept?: number;
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
  /** Counts by KB entry, host, severity, status and container, and a histogram over time, of what `query` matches. */
  facets(query: IncidentQuery): Promise<IncidentFacets>;
  /** Counts, mean times to acknowledge and resolve, and repeat offenders of the incidents first seen in a range (shared/store/stats.ts). */
  stats(query: StatsQuery): Promise<IncidentStats>;
  get(id: string): Promise<IncidentDetail | undefined>;
  /**
   * Deletes for good, with their evidence, the incidents resolved more than `retentionMs` before
   * `now`, and the silences that ended that long ago (shared/store/retention.ts); returns the counts.
   */
  expire(now: number, retentionMs: number): Promise<ExpiredCounts>;
  /** Occurrences whose last evidence is at or after `sinceTs`. */
  activeOccurrences(sinceTs: number): Promise<ActiveOccurrence[]>;
  /** The audit's current findings, kept apart from incidents (see shared/risk.ts). */
  readonly risks: RiskStore;
  close(): Promise<void>;
}
