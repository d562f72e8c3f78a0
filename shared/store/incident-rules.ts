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

/**
 * A signal more severe than its incident raises it: the incident takes the signal's entry, title and
 * severity (the failure a warning warned of, see the KB's warningOf). A less severe one changes none of them.
 */
export function escalates(kept: Severity, incoming: Severity): boolean {
  return severityRank(incoming) > severityRank(kept);
}

/** The SQL expression of a `severity` column's rank (severityRank), for stores that decide escalates() in SQL. */
export const SEVERITY_RANK_SQL = `CASE severity ${SEVERITY_ORDER.map((s, i) => `WHEN '${s}' THEN ${i}`).join(' ')} END`;

/** Only an open incident can be acknowledged (an acknowledged or resolved one stays as it is). */
export function acknowledges(status: IncidentStatus): boolean {
  return status === 'open';
}

/** An open or acknowledged incident can be resolved (a resolved one keeps its first resolution). */
export function resolves(status: IncidentStatus): boolean {
  return status !== 'resolved';
}

/**
 * The `causedBy` a link update leaves on its consequence: the cause's id when both incidents are
 * current (neither missing nor resolved) and not one and the same; else what it had. The latest link
 * wins: a cause retracted into the entry that explains it hands its consequences over.
 */
export function linkedCause(kept: string | null, consequenceId: string | undefined, causeId: string | undefined): string | null {
  return consequenceId === undefined || causeId === undefined || causeId === consequenceId ? kept : causeId;
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

/** Pieces of evidence kept at each end of an incident by default: its first 20 and its last 20. */
export const DEFAULT_EVIDENCE_KEPT = 20;

/** A piece of evidence as far as the cap on an incident's evidence is concerned. */
export interface EvidenceKey {
  ts: number;
  eventId: string;
  occurrenceId: string;
}

/** Oldest first: time ascending, then event id ascending. */
function oldestFirst(a: EvidenceKey, b: EvidenceKey): number {
  return a.ts - b.ts || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

/** What filing one piece of evidence does to an incident's kept evidence. */
export interface KeptEvidence {
  /** Whether the piece is new to the incident: its evidence count grows by one. */
  counts: boolean;
  /** The pieces kept afterwards, oldest first: at most `perEnd` at each end. */
  kept: EvidenceKey[];
  /** Pieces no longer kept (the piece itself when it is not): their stored evidence goes. */
  dropped: EvidenceKey[];
}

/**
 * Files one piece of evidence into an incident that keeps `kept` (oldest first) of its `total`
 * pieces: the first `perEnd` and the last `perEnd` are kept, the ones between are counted and
 * dropped. A piece already kept is a replay. Once pieces have been dropped, a piece that sorts
 * between the two ends is taken for a replay of a dropped one (every dropped piece sorts there for
 * good: the ends only move outwards), so replays never count twice; the price is that a new piece
 * arriving behind more than `perEnd` newer ones is not counted either.
 */
export function keepEvidence(kept: readonly EvidenceKey[], total: number, piece: EvidenceKey, perEnd: number): KeptEvidence {
  if (kept.some((k) => k.eventId === piece.eventId)) return { counts: false, kept: [...kept], dropped: [] };
  const firstEnd = kept[perEnd - 1];
  const lastEnd = kept[kept.length - perEnd];
  if (total > kept.length && firstEnd && lastEnd && oldestFirst(piece, firstEnd) > 0 && oldestFirst(piece, lastEnd) < 0) {
    return { counts: false, kept: [...kept], dropped: [piece] };
  }
  const { kept: capped, dropped } = capEvidence([...kept, piece], perEnd);
  return { counts: true, kept: capped, dropped };
}

/** The first `perEnd` and last `perEnd` of `pieces` (any order; one per event id), oldest first, and the rest. */
export function capEvidence(pieces: readonly EvidenceKey[], perEnd: number): { kept: EvidenceKey[]; dropped: EvidenceKey[] } {
  const byEvent = new Map(pieces.map((p) => [p.eventId, p]));
  const sorted = [...byEvent.values()].sort(oldestFirst);
  if (sorted.length <= 2 * perEnd) return { kept: sorted, dropped: [] };
  return { kept: [...sorted.slice(0, perEnd), ...sorted.slice(sorted.length - perEnd)], dropped: sorted.slice(perEnd, sorted.length - perEnd) };
}
