import type { IncidentStatus } from '../incident.js';
import type { KnowledgeBase } from '../kb/load.js';
import { SEVERITY_ORDER, severityRank, type Severity } from '../kb/schema.js';
import type { IncidentQuery, ResolveMark } from './index.js';

/*
 * The rules of the incident lifecycle and of search that every store applies the same way: each
 * store decides with these functions and keeps only how it reads and writes its own records.
 */

/** The latest incident of a fingerprint, as far as filing a new signal is concerned. */
export interface LatestIncident {
  status: IncidentStatus;
  /** When it was resolved (epoch ms); undefined while unresolved. */
  resolvedAt: number | undefined;
}

/**
 * Whether evidence at `ts` files into the fingerprint's latest incident; otherwise it starts a new
 * one. It does unless the incident was resolved longer than the re-open window before `ts`. An
 * update without a time of its own (a retraction) never files into a resolved incident.
 */
export function filesIntoLatest(latest: LatestIncident, ts: number | undefined, reopenWindowMs: number): boolean {
  if (latest.status !== 'resolved') return true;
  return ts !== undefined && latest.resolvedAt !== undefined && ts <= latest.resolvedAt + reopenWindowMs;
}

/** A new occurrence of a resolved incident is a recurrence and re-opens it; more evidence of a known occurrence does not. */
export function reopens(status: IncidentStatus, occurrenceKnown: boolean): boolean {
  return status === 'resolved' && !occurrenceKnown;
}

/** Only an open incident can be acknowledged (an acknowledged or resolved one stays as it is). */
export function acknowledges(status: IncidentStatus): boolean {
  return status === 'open';
}

/** An open or acknowledged incident can be resolved (a resolved one keeps its first resolution). */
export function resolves(status: IncidentStatus): boolean {
  return status !== 'resolved';
}

/** Whether an unresolved incident last seen at `lastSeen` has been quiet for longer than its entry allows at `now`. */
export function isQuiet(lastSeen: number, now: number, quietMs: number): boolean {
  return lastSeen < now - quietMs;
}

/** The resolution written when the quiet period elapses. */
export function autoResolveMark(now: number): ResolveMark {
  return { by: 'fineprint', at: new Date(now).toISOString(), comment: 'quiet period elapsed', auto: true };
}

/**
 * How many pieces of an incident's evidence its search text includes: the newest ones (as its
 * page lists them), so an incident with thousands of log lines keeps a search text of bounded size.
 */
export const SEARCHED_EVIDENCE = 20;

/**
 * The facts an incident keeps: the newest reading of its container, whatever order the writes
 * come in (a signal held for its occurrence can carry facts read before the container died).
 */
export function newerFacts<F extends { observedAt: number }>(kept: F | null | undefined, incoming: F | null | undefined): F | null {
  if (!incoming) return kept ?? null;
  return kept && kept.observedAt > incoming.observedAt ? kept : incoming;
}
/**
 * Characters of each searched evidence message (and of the incident's message) that search reads:
 * the words a person searches for are at the start of a line, and 20 hostile 16 KiB lines would
 * otherwise make every write re-index 320 KiB of text inside the store's transaction.
 */
export const SEARCHED_MESSAGE_CHARS = 1024;

/** A piece of evidence as far as search and the summary are concerned. */
export interface SearchedEvidence {
  ts: number;
  eventId: string;
  message: string;
  /** The Docker action and exit code (a crash loop's summary counts its exits). */
  action?: string | undefined;
  exitCode?: number | undefined;
}

/** Newest first: time descending, then event id descending (the order of an incident's evidence). */
function newestFirst(a: SearchedEvidence, b: SearchedEvidence): number {
  return b.ts - a.ts || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0);
}

/**
 * The SEARCHED_EVIDENCE newest of `kept` and `added` together, one per event id (an added one
 * replaces a kept one). Idempotent and order-independent, so a replayed or retried write keeps it.
 */
export function mergeSearchedEvidence<T extends SearchedEvidence>(kept: readonly T[], added: readonly T[]): T[] {
  const byEvent = new Map<string, T>();
  for (const e of [...kept, ...added]) byEvent.set(e.eventId, e);
  return [...byEvent.values()].sort(newestFirst).slice(0, SEARCHED_EVIDENCE);
}

/** The text of each KB entry that its incidents are searchable by: title, why and fixes. */
export function kbSearchTexts(kb: KnowledgeBase): Map<string, string> {
  return new Map(kb.entries.map((e) => [e.id, [e.title, e.why, ...e.fix].join('\n')]));
}

/** What an incident is searchable by. */
export interface SearchableIncident {
  title: string;
  message: string;
  summary?: string | undefined;
  containerName?: string | null | undefined;
  containerId?: string | null | undefined;
  composeService?: string | null | undefined;
  image?: string | null | undefined;
  /** Its KB entry's text (kbSearchTexts). */
  kbText?: string | undefined;
  /** Messages of its SEARCHED_EVIDENCE newest pieces of evidence. */
  evidence: readonly string[];
}

/** The full text `q` searches in an incident: title, message, summary, container, image, KB text and newest evidence. */
export function incidentSearchText(incident: SearchableIncident): string {
  const { title, message, summary, containerName, containerId, composeService, image, kbText, evidence } = incident;
  const cut = (text: string) => (text.length > SEARCHED_MESSAGE_CHARS ? text.slice(0, SEARCHED_MESSAGE_CHARS) : text);
  return [title, cut(message), summary, containerName, containerId, composeService, image, kbText, ...evidence.map(cut)].filter(Boolean).join('\n');
}

/**
 * The severities a query admits: its `severity` list, narrowed to `minSeverity` or worse;
 * undefined when it filters on neither (an empty list matches nothing).
 */
export function severitiesOf(query: Pick<IncidentQuery, 'severity' | 'minSeverity'>): Severity[] | undefined {
  if (query.severity === undefined && query.minSeverity === undefined) return undefined;
  const floor = query.minSeverity === undefined ? 0 : severityRank(query.minSeverity);
  return SEVERITY_ORDER.filter((s) => severityRank(s) >= floor && (query.severity === undefined || query.severity.includes(s)));
}
