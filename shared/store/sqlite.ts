import { ContainerFacts } from '../event.js';
import { incidentSummary } from '../incident-summary.js';
import { FineprintError } from '../errors.js';
import { IncidentContext, type Evidence, type Incident, type IncidentDetail, type IncidentUpdate, type LifecycleMark } from '../incident.js';
import type { KnowledgeBase } from '../kb/load.js';
import { severityRank } from '../kb/schema.js';
import { Silence } from '../silence.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../sqlite.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { dropRiskIncidents, SqliteRiskStore } from './risks-sqlite.js';
import type { ExpiredCounts } from './retention.js';
import { expireSqlite, trimSqliteToSize } from './sqlite-retention.js';
import { DEFAULT_REOPEN_WINDOW_MS, type ActiveOccurrence, type IncidentPage, type IncidentQuery, type IncidentStore, type LifecycleOptions, type ResolveMark } from './index.js';
import { FACET_SIZE, histogramOf, histogramRange, type FacetCount, type HistogramRange, type IncidentFacets } from './index.js';
import { QUERY_BUDGET_MS, queryTimeout, searchTerms, type QueryBudgetOptions } from './search-terms.js';
import { capEvidence, DEFAULT_EVIDENCE_KEPT, keepEvidence, SEVERITY_RANK_SQL, type EvidenceKey } from './incident-rules.js';
import { sqliteIncidentLinks } from './links-sqlite.js';
import { sqliteStats } from './stats-sqlite.js';
import type { IncidentStats, StatsQuery } from './stats.js';
import { acknowledges, autoResolveMark, filesIntoLatest, incidentSearchText, isQuiet, kbSearchTexts, linkedCause, reopens, resolves, SEARCHED_EVIDENCE, severitiesOf } from './incident-rules.js';

interface IncidentRow {
  id: string;
  fingerprint: string;
  kb_id: string;
  title: string;
  severity: Incident['severity'];
  status: Incident['status'];
  host: string;
  container_id: string | null;
  container_name: string | null;
  container_image: string | null;
  compose_project: string | null;
  compose_service: string | null;
  count: number;
  evidence_count: number;
  first_seen: number;
  last_seen: number;
  message: string;
  summary: string;
  facts: string | null;
  /** IncidentContext as JSON: last words, changes. */
  context: string | null;
  acknowledged: string | null;
  resolved: string | null;
  resolved_at: number | null;
  reopened: number;
  updated_at: number;
  caused_by: string | null;
  search_rowid: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS incidents (
  id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  kb_id TEXT NOT NULL,
  title TEXT NOT NULL,
  severity TEXT NOT NULL,
  status TEXT NOT NULL,
  host TEXT NOT NULL,
  container_id TEXT,
  container_name TEXT,
  container_image TEXT,
  compose_project TEXT,
  compose_service TEXT,
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  message TEXT NOT NULL,
  facts TEXT,
  acknowledged TEXT,
  resolved TEXT,
  resolved_at INTEGER,
  reopened INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_fingerprint ON incidents (fingerprint, status);
CREATE TABLE IF NOT EXISTS evidence (
  fingerprint TEXT NOT NULL,
  event_id TEXT NOT NULL,
  incident_id TEXT NOT NULL,
  occurrence_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (fingerprint, event_id)
);
CREATE INDEX IF NOT EXISTS evidence_incident ON evidence (incident_id, occurrence_id);
CREATE INDEX IF NOT EXISTS evidence_newest ON evidence (incident_id, ts, event_id);
CREATE INDEX IF NOT EXISTS evidence_ts ON evidence (ts);
-- Each incident's occurrences with their span and evidence count: the evidence between an incident's
-- first and last pieces is counted here and not kept (keepEvidence), so counts never read evidence.
CREATE TABLE IF NOT EXISTS occurrences (
  incident_id TEXT NOT NULL,
  occurrence_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  evidence INTEGER NOT NULL,
  PRIMARY KEY (incident_id, occurrence_id)
);
CREATE INDEX IF NOT EXISTS occurrences_last ON occurrences (last_ts);
CREATE VIRTUAL TABLE IF NOT EXISTS incidents_fts USING fts5 (id UNINDEXED, text);
-- Where each incident's row is in incidents_fts: its id column cannot be indexed, and deleting by it
-- scanned the whole index on every update (100,000 incidents: minutes per thousand signals).
-- The same rowid is on the incident's row too (search_rowid), so a search joins its matches to
-- incidents by an integer inside the search indexes (SEARCH_INDEXES) instead of by id.
CREATE TABLE IF NOT EXISTS incidents_fts_rows (id TEXT PRIMARY KEY, fts_rowid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS container_facts (host TEXT NOT NULL, id TEXT NOT NULL, observed_at INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (host, id));
CREATE TABLE IF NOT EXISTS container_baselines (subject TEXT PRIMARY KEY, body TEXT NOT NULL);
`;

/** The search terms of a free-text query as an FTS5 expression of quoted prefix terms: user text is never syntax. */
function ftsExpression(q: string | undefined): string | undefined {
  const terms = searchTerms(q);
  return terms.length > 0 ? terms.map((w) => `"${w}"*`).join(' ') : undefined;
}

/** A value inside SQL LIKE, literally: its `%`, `_` and the escape character `\` are escaped. */
function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, '\\$&');
}

/** The columns an incident is read from (toIncident): a search reads these, never the facts. */
type IncidentColumns = Omit<IncidentRow, 'facts' | 'context' | 'resolved_at' | 'search_rowid'>;
const INCIDENT_COLUMNS =
  'id, fingerprint, kb_id, title, severity, status, host, container_id, container_name, container_image, compose_project, compose_service, count, evidence_count, first_seen, last_seen, message, summary, acknowledged, resolved, reopened, updated_at, caused_by';

/**
 * Facets of few values each, by column: counted from one grouping of the matches by all of them
 * (one sort of the matches instead of one per facet). Containers are many: counted on their own.
 */
const GROUPED_FACETS = [
  ['kb', 'kb_id'],
  ['host', 'host'],
  ['severity', 'severity'],
  ['status', 'status'],
] as const;
type FacetName = (typeof GROUPED_FACETS)[number][0] | 'container';

/** A row of the facets statement: a facet's value and count, the span (min, count, max) or a histogram bucket. */
interface FacetRow {
  facet: FacetName | 'span' | 'histogram';
  value: string | number | null;
  count: number;
  last: number | null;
}

/** Statements of searches and facets kept prepared, by SQL: there is one per combination of filters. */
const MAX_CACHED_STATEMENTS = 256;

function toIncident(row: IncidentColumns): Incident {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    kbId: row.kb_id,
    title: row.title,
    severity: row.severity,
    status: row.status,
    host: row.host,
    container: row.container_id
      ? { id: row.container_id, name: row.container_name ?? '', image: row.container_image ?? '' }
      : null,
    compose: row.compose_project && row.compose_service ? { project: row.compose_project, service: row.compose_service } : null,
    count: row.count,
    evidenceCount: row.evidence_count,
    firstSeen: new Date(row.first_seen).toISOString(),
    lastSeen: new Date(row.last_seen).toISOString(),
    message: row.message,
    summary: row.summary,
    acknowledged: row.acknowledged ? (JSON.parse(row.acknowledged) as LifecycleMark) : null,
    resolved: row.resolved ? (JSON.parse(row.resolved) as ResolveMark) : null,
    reopened: row.reopened,
    updatedAt: new Date(row.updated_at).toISOString(),
    causedBy: row.caused_by,
  };
}

/** Columns added after the first release: an older database gets them on open. */
const ADDED_COLUMNS: [string, string][] = [
  ['acknowledged', 'TEXT'],
  ['resolved', 'TEXT'],
  ['resolved_at', 'INTEGER'],
  ['reopened', 'INTEGER NOT NULL DEFAULT 0'],
  ['updated_at', 'INTEGER NOT NULL DEFAULT 0'],
  ['context', 'TEXT'],
  ['summary', "TEXT NOT NULL DEFAULT ''"],
  ['caused_by', 'TEXT'],
  ['evidence_count', 'INTEGER NOT NULL DEFAULT 0'],
  // The incident's rowid in incidents_fts (also in incidents_fts_rows); set once, kept by every re-index.
  ['search_rowid', 'INTEGER'],
];

/**
 * Indexes that hold every column a search filters on, counts or joins to its full-text matches
 * (search_rowid): a search and its facets scan them, not the incidents' rows (only the page of
 * incidents it returns is read from those). One in time order (the page's order, unfiltered and
 * time-ranged queries), one by KB entry and host (the filters the page's facets set). The few
 * matches of a rare word are looked up by search_rowid instead (FEW_MATCHES).
 */
const SEARCH_INDEXES = `
CREATE INDEX IF NOT EXISTS incidents_seen ON incidents (last_seen DESC, id DESC, first_seen, kb_id, host, severity, status, container_name, search_rowid);
CREATE INDEX IF NOT EXISTS incidents_kb_host ON incidents (kb_id, host, last_seen, first_seen, severity, status, container_name, search_rowid);
CREATE INDEX IF NOT EXISTS incidents_search_rowid ON incidents (search_rowid);
`;

/**
 * Up to this many full-text matches, a search reads them by search_rowid (a look-up each); with
 * more, it scans the search indexes once (reading the matches one by one costs more from here on).
 */
const FEW_MATCHES = 2000;

/** Brings an older database up to SCHEMA; true when every incident's summary and search text must be written anew. */
function migrate(db: SqliteDatabase): boolean {
  const present = new Set(db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('incidents')`).all().map((c) => c.name));
  for (const [column, type] of ADDED_COLUMNS) {
    if (!present.has(column)) db.exec(`ALTER TABLE incidents ADD COLUMN ${column} ${type}`);
  }
  db.exec(`CREATE INDEX IF NOT EXISTS incidents_updated ON incidents (updated_at)`);
  db.exec(`CREATE INDEX IF NOT EXISTS incidents_caused_by ON incidents (caused_by) WHERE caused_by IS NOT NULL`);
  if (!present.has('search_rowid')) db.exec(`UPDATE incidents SET search_rowid = (SELECT fts_rowid FROM incidents_fts_rows WHERE id = incidents.id)`);
  // Replaced by SEARCH_INDEXES: in time order without the columns searched, and back from search rows to ids.
  db.exec(`DROP INDEX IF EXISTS incidents_last_seen; DROP INDEX IF EXISTS incidents_fts_rows_rowid; ${SEARCH_INDEXES}`);
  // A database from before occurrences were kept apart: they are read once from its evidence.
  if (!db.prepare(`SELECT 1 FROM occurrences LIMIT 1`).get() && db.prepare(`SELECT 1 FROM evidence LIMIT 1`).get()) {
    db.exec(`INSERT INTO occurrences SELECT incident_id, occurrence_id, MIN(fingerprint), MIN(ts), MAX(ts), COUNT(*) FROM evidence GROUP BY incident_id, occurrence_id;
      UPDATE incidents SET evidence_count = (SELECT COALESCE(SUM(evidence), 0) FROM occurrences WHERE incident_id = incidents.id)`);
  }
  // A search index of separate columns, from before evidence was searchable: indexed anew.
  const ftsColumns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('incidents_fts')`).all().map((c) => c.name);
  if (ftsColumns.join(',') === 'id,text') return !present.has('summary');
  db.exec(`DROP TABLE incidents_fts; DELETE FROM incidents_fts_rows; UPDATE incidents SET search_rowid = NULL; CREATE VIRTUAL TABLE incidents_fts USING fts5 (id UNINDEXED, text)`);
  return true;
}

function prepareStatements(db: SqliteDatabase) {
  return {
    // The fingerprint's latest incident, resolved or not: a recurrence may re-open it.
    latest: db.prepare<[string], { id: string; status: Incident['status']; resolved_at: number | null }>(
      `SELECT id, status, resolved_at FROM incidents WHERE fingerprint = ? ORDER BY rowid DESC LIMIT 1`,
    ),
    hasOccurrence: db.prepare<[string, string], { one: number }>(`SELECT 1 AS one FROM occurrences WHERE incident_id = ? AND occurrence_id = ?`),
    hasEvidence: db.prepare<[string, string], { one: number }>(`SELECT 1 AS one FROM evidence WHERE fingerprint = ? AND event_id = ?`),
    evidenceCount: db.prepare<[string], { evidence_count: number }>(`SELECT evidence_count FROM incidents WHERE id = ?`),
    keptEvidence: db.prepare<[string], EvidenceKey>(`SELECT ts, event_id AS eventId, occurrence_id AS occurrenceId FROM evidence WHERE incident_id = ? ORDER BY ts, event_id`),
    dropKept: db.prepare(`DELETE FROM evidence WHERE incident_id = ? AND event_id = ?`),
    countOccurrence: db.prepare(
      `INSERT INTO occurrences (incident_id, occurrence_id, fingerprint, first_ts, last_ts, evidence) VALUES (@id, @occurrence, @fingerprint, @ts, @ts, 1)
       ON CONFLICT (incident_id, occurrence_id) DO UPDATE SET first_ts = MIN(first_ts, @ts), last_ts = MAX(last_ts, @ts), evidence = evidence + 1`,
    ),
    moveOccurrence: db.prepare(
      `INSERT INTO occurrences (incident_id, occurrence_id, fingerprint, first_ts, last_ts, evidence)
       SELECT @intoId, @intoOccurrence, @into, first_ts, last_ts, MAX(0, evidence - @known) FROM occurrences WHERE incident_id = @fromId AND occurrence_id = @occurrence
       ON CONFLICT (incident_id, occurrence_id) DO UPDATE SET first_ts = MIN(first_ts, excluded.first_ts), last_ts = MAX(last_ts, excluded.last_ts), evidence = evidence + excluded.evidence`,
    ),
    // Pieces of an occurrence that the incident it moves into has already: they count once.
    knownEvidence: db.prepare<Record<string, string>, { known: number }>(
      `SELECT COUNT(*) AS known FROM evidence moved WHERE fingerprint = @from AND occurrence_id = @occurrence
       AND EXISTS (SELECT 1 FROM evidence WHERE fingerprint = @into AND event_id = moved.event_id)`,
    ),
    dropOccurrence: db.prepare(`DELETE FROM occurrences WHERE incident_id = ? AND occurrence_id = ?`),
    insertIncident: db.prepare(
      `INSERT OR IGNORE INTO incidents (id, fingerprint, kb_id, title, severity, status, host, count, first_seen, last_seen, message, updated_at)
       VALUES (@id, @fingerprint, @kbId, @title, @severity, 'open', @host, 0, @ts, @ts, @message, @now)`,
    ),
    // escalates() (incident-rules.ts): a more severe signal raises the incident to its entry.
    escalate: db.prepare(`UPDATE incidents SET kb_id = @kbId, title = @title, severity = @severity WHERE id = @id AND ${SEVERITY_RANK_SQL} < @rank`),
    reopen: db.prepare(`UPDATE incidents SET status = 'open', acknowledged = NULL, resolved = NULL, resolved_at = NULL, reopened = reopened + 1 WHERE id = ?`),
    acknowledge: db.prepare(`UPDATE incidents SET status = 'acknowledged', acknowledged = ?, updated_at = ? WHERE id = ?`),
    resolve: db.prepare(`UPDATE incidents SET status = 'resolved', resolved = ?, resolved_at = ?, updated_at = ? WHERE id = ?`),
    unresolved: db.prepare<[], IncidentRow>(`SELECT * FROM incidents WHERE status != 'resolved'`),
    putSilence: db.prepare(`INSERT INTO silences (id, body) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body`),
    silences: db.prepare<[], { body: string }>(`SELECT body FROM silences`),
    deleteSilence: db.prepare(`DELETE FROM silences WHERE id = ?`),
    insertEvidence: db.prepare(
      `INSERT OR IGNORE INTO evidence (fingerprint, event_id, incident_id, occurrence_id, ts, body) VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    touch: db.prepare(
      `UPDATE incidents SET
         first_seen = MIN(first_seen, @ts),
         message = CASE WHEN @ts >= last_seen THEN @message ELSE message END,
         last_seen = MAX(last_seen, @ts),
         container_id = COALESCE(@containerId, container_id),
         container_name = COALESCE(@containerName, container_name),
         container_image = COALESCE(NULLIF(@containerImage, ''), container_image),
         compose_project = COALESCE(@composeProject, compose_project),
         compose_service = COALESCE(@composeService, compose_service),
         -- newerFacts (incident-rules.ts): the newest reading wins, whatever order the writes come in.
         facts = CASE WHEN @facts IS NULL OR (facts IS NOT NULL AND json_extract(facts, '$.observedAt') > json_extract(@facts, '$.observedAt')) THEN facts ELSE @facts END,
         context = CASE WHEN @context IS NULL THEN context ELSE json_patch(COALESCE(context, '{}'), @context) END,
         updated_at = @now
       WHERE id = @id`,
    ),
    recount: db.prepare(
      `UPDATE incidents SET count = (SELECT COUNT(*) FROM occurrences WHERE incident_id = @id),
         evidence_count = (SELECT COALESCE(SUM(evidence), 0) FROM occurrences WHERE incident_id = @id),
         first_seen = COALESCE((SELECT MIN(first_ts) FROM occurrences WHERE incident_id = @id), first_seen),
         last_seen = COALESCE((SELECT MAX(last_ts) FROM occurrences WHERE incident_id = @id), last_seen),
         updated_at = @now
       WHERE id = @id`,
    ),
    moveEvidence: db.prepare(
      `UPDATE OR IGNORE evidence SET fingerprint = @into, incident_id = @intoId, occurrence_id = @intoOccurrence
       WHERE fingerprint = @from AND occurrence_id = @occurrence`,
    ),
    dropEvidence: db.prepare(`DELETE FROM evidence WHERE fingerprint = ? AND occurrence_id = ?`),
    deleteEmpty: db.prepare(`DELETE FROM incidents WHERE id = ? AND count = 0`),
    causedBy: db.prepare<[string], { caused_by: string | null }>(`SELECT caused_by FROM incidents WHERE id = ?`),
    setCausedBy: db.prepare(`UPDATE incidents SET caused_by = ?, updated_at = ? WHERE id = ?`),
    row: db.prepare<[string], IncidentRow>(`SELECT * FROM incidents WHERE id = ?`),
    ftsDelete: db.prepare(`DELETE FROM incidents_fts WHERE rowid = (SELECT fts_rowid FROM incidents_fts_rows WHERE id = ?)`),
    ftsRowSet: db.prepare(`INSERT OR REPLACE INTO incidents_fts_rows (id, fts_rowid) VALUES (?, ?)`),
    ftsRowDelete: db.prepare(`DELETE FROM incidents_fts_rows WHERE id = ?`),
    // A null rowid is a new row.
    ftsInsert: db.prepare<[number | null, string, string]>(`INSERT INTO incidents_fts (rowid, id, text) VALUES (?, ?, ?)`),
    setSearchRowid: db.prepare(`UPDATE incidents SET search_rowid = ? WHERE id = ?`),
    allIds: db.prepare<[], { id: string }>(`SELECT id FROM incidents`),
    searchedEvidence: db.prepare<[string, number], { event_id: string; ts: number; message: string; action: string | null; exit_code: number | null }>(
      `SELECT event_id, ts, json_extract(body, '$.message') AS message, json_extract(body, '$.action') AS action, json_extract(body, '$.exitCode') AS exit_code
       FROM evidence WHERE incident_id = ? ORDER BY ts DESC, event_id DESC LIMIT ?`,
    ),
    setSummary: db.prepare(`UPDATE incidents SET summary = ? WHERE id = ?`),
    evidence: db.prepare<[string], { body: string }>(`SELECT body FROM evidence WHERE incident_id = ? ORDER BY ts DESC, event_id DESC LIMIT 100`),
    active: db.prepare<[number], { fingerprint: string; incident_id: string; occurrence_id: string; last_ts: number }>(
      `SELECT fingerprint, incident_id, occurrence_id, last_ts FROM occurrences WHERE last_ts >= ? ORDER BY last_ts`,
    ),
    saveFacts: db.prepare(
      `INSERT INTO container_facts (host, id, observed_at, body) VALUES (?, ?, ?, ?)
       ON CONFLICT(host, id) DO UPDATE SET observed_at = excluded.observed_at, body = excluded.body WHERE excluded.observed_at >= observed_at`,
    ),
    loadFacts: db.prepare<[], { body: string }>(`SELECT body FROM container_facts`),
    saveBaseline: db.prepare(`INSERT INTO container_baselines (subject, body) VALUES (?, ?) ON CONFLICT(subject) DO UPDATE SET body = excluded.body`),
    loadBaselines: db.prepare<[], { body: string }>(`SELECT body FROM container_baselines`),
  };
}

export interface SqliteStoreOptions {
  /** Retention by size: above this many bytes in use, expire() deletes the incidents resolved longest ago (trimSqliteToSize). Unset: no limit. */
  maxBytes?: number;
}

/**
 * The embedded incident store: one row per incident and per piece of evidence, an FTS5 index of
 * each incident's search text, all changed in one transaction per batch of updates.
 */
export class SqliteIncidentStore implements IncidentStore {
  private readonly kbText: Map<string, string>;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly applyTransaction: (updates: IncidentUpdate[]) => Incident[];
  private readonly reopenWindowMs: number;
  private readonly evidenceKept: number;
  private readonly maxBytes: number | undefined;
  private readonly queryBudgetMs: number;
  private readonly statementsBySql = new Map<string, Statement>();
  /** What search_matches holds (findMatches). */
  private foundMatches: { expression: string; count: number; version: string } | undefined;
  private readonly links: ReturnType<typeof sqliteIncidentLinks>;
  private readonly statsOf: ReturnType<typeof sqliteStats>;
  readonly risks: SqliteRiskStore;

  constructor(
    private readonly db: SqliteDatabase,
    kb: KnowledgeBase,
    options: LifecycleOptions & QueryBudgetOptions & SqliteStoreOptions = {},
  ) {
    this.maxBytes = options.maxBytes;
    this.reopenWindowMs = options.reopenWindowMs ?? DEFAULT_REOPEN_WINDOW_MS;
    this.evidenceKept = options.evidenceKept ?? DEFAULT_EVIDENCE_KEPT;
    this.queryBudgetMs = options.queryBudgetMs ?? QUERY_BUDGET_MS;
    db.exec(SCHEMA);
    const reindexAll = migrate(db);
    this.statements = prepareStatements(db);
    this.links = sqliteIncidentLinks(db);
    this.statsOf = sqliteStats(db);
    dropRiskIncidents(db);
    this.risks = new SqliteRiskStore(db);
    this.applyTransaction = db.transaction((updates: IncidentUpdate[]) => this.applyAll(updates));
    this.kbText = kbSearchTexts(kb);
    if (reindexAll) db.transaction(() => this.statements.allIds.all().forEach(({ id }) => this.reindex(id)))();
  }


  /** Writes the incident's summary and search text anew from its row and newest evidence. */
  private reindex(id: string): void {
    const row = this.statements.row.get(id);
    this.statements.ftsDelete.run(id);
    if (!row) {
      this.statements.ftsRowDelete.run(id);
      return;
    }
    const evidence = this.statements.searchedEvidence.all(id, SEARCHED_EVIDENCE);
    const summary = incidentSummary({
      kbId: row.kb_id,
      title: row.title,
      subject: row.container_name || row.host,
      facts: row.facts ? (JSON.parse(row.facts) as ContainerFacts) : null,
      evidence: evidence.map((e) => ({ eventId: e.event_id, ts: e.ts, message: e.message, action: e.action ?? undefined, exitCode: e.exit_code ?? undefined })),
    });
    if (summary !== row.summary) this.statements.setSummary.run(summary, id);
    const text = incidentSearchText({
      title: row.title,
      message: row.message,
      summary,
      containerName: row.container_name,
      containerId: row.container_id,
      composeService: row.compose_service,
      image: row.container_image,
      kbText: this.kbText.get(row.kb_id),
      evidence: evidence.map((e) => e.message),
    });
    // Re-indexed under the rowid it had, so the incident's search_rowid (in the search indexes) stays as it is.
    const { lastInsertRowid } = this.statements.ftsInsert.run(row.search_rowid, id, text);
    if (row.search_rowid !== null) return;
    this.statements.ftsRowSet.run(id, lastInsertRowid);
    this.statements.setSearchRowid.run(lastInsertRowid, id);
  }

  /** The fingerprint's latest incident, if an update at `ts` (none for a retraction) files into it. */
  private currentIncident(fingerprint: string, ts?: number): { id: string; status: Incident['status'] } | undefined {
    const latest = this.statements.latest.get(fingerprint);
    if (!latest || !filesIntoLatest({ status: latest.status, resolvedAt: latest.resolved_at ?? undefined }, ts, this.reopenWindowMs)) return undefined;
    return latest;
  }

  private applyAll(updates: IncidentUpdate[]): Incident[] {
    const s = this.statements;
    const changed = new Set<string>();
    const now = Date.now();
    for (const update of updates) {
      if (update.op === 'signal') {
        const { evidence } = update;
        const current = this.currentIncident(update.fingerprint, evidence.ts);
        const id = current?.id ?? update.proposedId;
        // A replayed event changes nothing, not even an empty incident row.
        if (s.hasEvidence.get(update.fingerprint, evidence.eventId)) continue;
        const kept = keepEvidence(s.keptEvidence.all(id), s.evidenceCount.get(id)?.evidence_count ?? 0, evidence, this.evidenceKept);
        if (!kept.counts) continue;
        const knownOccurrence = s.hasOccurrence.get(id, evidence.occurrenceId) !== undefined;
        s.insertEvidence.run(update.fingerprint, evidence.eventId, id, evidence.occurrenceId, evidence.ts, JSON.stringify(evidence));
        for (const dropped of kept.dropped) s.dropKept.run(id, dropped.eventId);
        s.insertIncident.run({ id, fingerprint: update.fingerprint, kbId: update.kbId, title: update.title, severity: update.severity, host: update.host, ts: evidence.ts, message: evidence.message, now });
        if (current && reopens(current.status, knownOccurrence)) s.reopen.run(id);
        s.touch.run({
          now,
          id,
          ts: evidence.ts,
          message: evidence.message,
          containerId: update.container?.id ?? null,
          containerName: update.container?.name ?? null,
          containerImage: update.container?.image ?? null,
          composeProject: update.compose?.project ?? null,
          composeService: update.compose?.service ?? null,
          facts: update.facts ? JSON.stringify(update.facts) : null,
          context: update.context ? JSON.stringify(update.context) : null,
        });
        s.countOccurrence.run({ id, occurrence: evidence.occurrenceId, fingerprint: update.fingerprint, ts: evidence.ts });
        s.escalate.run({ id, kbId: update.kbId, title: update.title, severity: update.severity, rank: severityRank(update.severity) });
        s.recount.run({ id, now });
        changed.add(id);
      } else if (update.op === 'link') {
        const consequence = this.currentIncident(update.fingerprint);
        const kept = consequence ? (s.causedBy.get(consequence.id)?.caused_by ?? null) : null;
        const causedBy = linkedCause(kept, consequence?.id, this.currentIncident(update.causeFingerprint)?.id);
        if (!consequence || causedBy === kept) continue;
        s.setCausedBy.run(causedBy, now, consequence.id);
        changed.add(consequence.id);
      } else {
        const from = this.currentIncident(update.fingerprint);
        const into = this.currentIncident(update.intoFingerprint);
        if (!from || !into) continue;
        const occurrence = { fromId: from.id, occurrence: update.occurrenceId, into: update.intoFingerprint, intoId: into.id, intoOccurrence: update.intoOccurrenceId };
        s.moveOccurrence.run({ ...occurrence, known: s.knownEvidence.get({ from: update.fingerprint, occurrence: update.occurrenceId, into: update.intoFingerprint })?.known ?? 0 });
        const forgotten = s.dropOccurrence.run(from.id, update.occurrenceId);
        const moved = s.moveEvidence.run({ ...occurrence, from: update.fingerprint });
        const dropped = s.dropEvidence.run(update.fingerprint, update.occurrenceId);
        if (forgotten.changes === 0 && moved.changes === 0 && dropped.changes === 0) continue;
        for (const extra of capEvidence(s.keptEvidence.all(into.id), this.evidenceKept).dropped) s.dropKept.run(into.id, extra.eventId);
        s.recount.run({ id: from.id, now });
        s.recount.run({ id: into.id, now });
        s.deleteEmpty.run(from.id);
        changed.add(from.id).add(into.id);
      }
    }
    const incidents: Incident[] = [];
    for (const id of changed) {
      this.reindex(id);
      const row = s.row.get(id);
      if (row) incidents.push(toIncident(row));
    }
    return incidents;
  }

  async apply(updates: IncidentUpdate[]): Promise<Incident[]> {
    return updates.length > 0 ? this.applyTransaction(updates) : [];
  }

  // Read, decide and write with no await between: nothing else changes the row meanwhile.
  async acknowledge(id: string, mark: LifecycleMark): Promise<Incident | undefined> {
    const row = this.statements.row.get(id);
    if (!row || !acknowledges(row.status)) return row && toIncident(row);
    this.statements.acknowledge.run(JSON.stringify(mark), Date.now(), id);
    const updated = this.statements.row.get(id);
    return updated && toIncident(updated);
  }

  async resolve(id: string, mark: ResolveMark): Promise<Incident | undefined> {
    const row = this.statements.row.get(id);
    if (!row || !resolves(row.status)) return row && toIncident(row);
    this.statements.resolve.run(JSON.stringify(mark), Date.parse(mark.at), Date.now(), id);
    const updated = this.statements.row.get(id);
    return updated && toIncident(updated);
  }

  async resolveQuiet(now: number, quietMs: (kbId: string) => number): Promise<Incident[]> {
    const mark = autoResolveMark(now);
    // Unresolved incidents are few (resolved ones are the history): each is checked against its entry's period.
    const resolved: Incident[] = [];
    for (const row of this.statements.unresolved.all()) {
      if (!isQuiet(row.last_seen, now, quietMs(row.kb_id))) continue;
      const incident = await this.resolve(row.id, mark);
      if (incident) resolved.push(incident);
    }
    return resolved;
  }

  async expire(now: number, retentionMs: number): Promise<ExpiredCounts> {
    const expired = expireSqlite(this.db, now, retentionMs);
    return this.maxBytes === undefined ? expired : { ...expired, incidents: expired.incidents + trimSqliteToSize(this.db, this.maxBytes) };
  }

  async putSilence(silence: Silence): Promise<void> {
    this.statements.putSilence.run(silence.id, JSON.stringify(silence));
  }

  async silences(): Promise<Silence[]> {
    return this.statements.silences.all().flatMap((r) => {
      const parsed = Silence.safeParse(JSON.parse(r.body));
      return parsed.success ? [parsed.data] : [];
    });
  }

  async deleteSilence(id: string): Promise<boolean> {
    return this.statements.deleteSilence.run(id).changes > 0;
  }

  async search(query: IncidentQuery): Promise<IncidentPage> {
    const { where, params } = this.filters(query);
    if (query.cursor) {
      const [lastSeen, id] = decodeCursor(query.cursor);
      where.push('(last_seen < @cursorSeen OR (last_seen = @cursorSeen AND id < @cursorId))');
      params.cursorSeen = lastSeen;
      params.cursorId = id;
    }
    params.limit = query.limit + 1;
    const sql = `SELECT ${INCIDENT_COLUMNS} FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY last_seen DESC, id DESC LIMIT @limit`;
    const rows = [...this.rowsWithinBudget<IncidentColumns>('search', sql, params)];
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      incidents: page.map(toIncident),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.last_seen, last.id) : null,
    };
  }

  async get(id: string): Promise<IncidentDetail | undefined> {
    const row = this.statements.row.get(id);
    if (!row) return undefined;
    const facts = row.facts ? ContainerFacts.safeParse(JSON.parse(row.facts)) : undefined;
    const context = row.context ? IncidentContext.safeParse(JSON.parse(row.context)) : undefined;
    const incident = toIncident(row);
    return {
      ...incident,
      ...this.links(incident),
      facts: facts?.success ? facts.data : null,
      ...(context?.success ? context.data : {}),
      evidence: this.statements.evidence.all(id).map((r) => JSON.parse(r.body) as Evidence),
    };
  }

  async stats(query: StatsQuery): Promise<IncidentStats> {
    return this.statsOf(query, Date.now());
  }

  async activeOccurrences(sinceTs: number): Promise<ActiveOccurrence[]> {
    const latest = new Map<string, ActiveOccurrence>();
    for (const row of this.statements.active.all(sinceTs)) {
      latest.set(row.fingerprint, { fingerprint: row.fingerprint, incidentId: row.incident_id, occurrenceId: row.occurrence_id, lastTs: row.last_ts });
    }
    return [...latest.values()];
  }

  /** Container facts survive classifier restarts here (see FactsCache). */
  loadFacts(): ContainerFacts[] {
    return this.statements.loadFacts.all().flatMap((r) => {
      const parsed = ContainerFacts.safeParse(JSON.parse(r.body));
      return parsed.success ? [parsed.data] : [];
    });
  }

  saveFacts(facts: ContainerFacts): void {
    this.statements.saveFacts.run(facts.host, facts.id, facts.observedAt, JSON.stringify(facts));
  }

  /** The setups of clean runs survive classifier restarts here (see Baselines). */
  loadBaselines(): ContainerFacts[] {
    return this.statements.loadBaselines.all().flatMap((r) => {
      const parsed = ContainerFacts.safeParse(JSON.parse(r.body));
      return parsed.success ? [parsed.data] : [];
    });
  }

  saveBaseline(subject: string, facts: ContainerFacts): void {
    this.statements.saveBaseline.run(subject, JSON.stringify(facts));
  }

  async close(): Promise<void> {
    // The database handle belongs to whoever opened it (the all-in-one shares it with the queue).
  }

  /** SQL conditions and parameters of a query's filters (all but its cursor): search and facets share them. */
  private filters(query: IncidentQuery): { where: string[]; params: Record<string, string | number> } {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (query.q) {
      const expression = ftsExpression(query.q);
      if (expression) {
        const matches = this.findMatches(expression);
        // Few matches: read from the index by search_rowid. Many, or a KB entry or host to narrow
        // them: the unary + keeps SQLite off that index, scanning the search indexes instead.
        const byMatch = matches <= FEW_MATCHES && !query.kb && !query.host;
        where.push(`${byMatch ? '' : '+'}search_rowid IN (SELECT rowid FROM search_matches)`);
      }
    }
    const equal: [keyof IncidentQuery, string][] = [
      ['kb', 'kb_id'],
      ['host', 'host'],
      ['status', 'status'],
    ];
    for (const [param, column] of equal) {
      const value = query[param];
      if (typeof value === 'string') {
        where.push(`${column} = @${param}`);
        params[param] = value;
      }
    }
    const severities = severitiesOf(query);
    if (severities) {
      severities.forEach((severity, i) => (params[`severity${i}`] = severity));
      where.push(`severity IN (${severities.map((_, i) => `@severity${i}`).join(', ') || 'NULL'})`);
    }
    if (query.container) {
      where.push(`(container_name = @container OR compose_service = @container OR (length(@container) >= 12 AND container_id LIKE @containerIdPrefix ESCAPE '\\'))`);
      params.container = query.container;
      params.containerIdPrefix = `${likeLiteral(query.container)}%`;
    }
    if (query.since !== undefined) {
      where.push('last_seen >= @since');
      params.since = query.since;
    }
    if (query.until !== undefined) {
      where.push('first_seen <= @until');
      params.until = query.until;
    }
    if (query.updatedSince !== undefined) {
      where.push('updated_at >= @updatedSince');
      params.updatedSince = query.updatedSince;
    }
    return { where, params };
  }

  /**
   * Puts the rowids of the full-text matches in the temporary table search_matches (this
   * connection's own), which the statements of a search or facets call then read. They stay there
   * until the database changes: the page's search and facets of the same words read the full-text
   * index once. Returns how many there are.
   */
  private findMatches(expression: string): number {
    try {
      const found = this.foundMatches;
      if (found?.expression === expression && found.version === this.databaseVersion()) return found.count;
      this.db.exec('CREATE TEMP TABLE IF NOT EXISTS search_matches (rowid INTEGER PRIMARY KEY)');
      this.prepared<[]>('DELETE FROM temp.search_matches').run();
      const count = this.prepared<{ fts: string }>('INSERT INTO temp.search_matches SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH @fts').run({ fts: expression }).changes;
      this.foundMatches = { expression, count, version: this.databaseVersion() };
      return count;
    } catch (error) {
      this.foundMatches = undefined;
      throw new FineprintError('FP_STORE_UNAVAILABLE', `search failed: ${(error as Error).message}`, undefined, { cause: error });
    }
  }

  /** Changes with every write: this connection's own (total_changes) and any other's (data_version). */
  private databaseVersion(): string {
    const version = this.prepared<[], { changes: number; other: number }>('SELECT total_changes() AS changes, (SELECT data_version FROM pragma_data_version) AS other').get();
    return `${version?.changes}:${version?.other}`;
  }

  /** The statement of `sql`, prepared on its first use (preparing one per query costs more than most searches). */
  private prepared<Params extends object, Row = unknown>(sql: string): Statement<Params, Row> {
    let statement = this.statementsBySql.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.statementsBySql.size >= MAX_CACHED_STATEMENTS) this.statementsBySql.delete(this.statementsBySql.keys().next().value as string);
      this.statementsBySql.set(sql, statement);
    }
    return statement as Statement<Params, Row>;
  }

  /**
   * The rows of a query, stopped with FP_QUERY_TIMEOUT once it runs past the budget, checked as
   * rows arrive (better-sqlite3 cannot interrupt a step; the bounded search terms bound each one).
   */
  private *rowsWithinBudget<Row>(what: string, sql: string, params: Record<string, string | number>, deadline = Date.now() + this.queryBudgetMs): Generator<Row> {
    let rows: IterableIterator<Row>;
    try {
      rows = this.prepared<Record<string, string | number>, Row>(sql).iterate(params);
    } catch (error) {
      throw new FineprintError('FP_STORE_UNAVAILABLE', `${what} failed: ${(error as Error).message}`, undefined, { cause: error });
    }
    try {
      for (let n = 0; ; n += 1) {
        let next: IteratorResult<Row>;
        try {
          next = rows.next();
        } catch (error) {
          throw new FineprintError('FP_STORE_UNAVAILABLE', `${what} failed: ${(error as Error).message}`, undefined, { cause: error });
        }
        if (next.done) return;
        if (n % 256 === 0 && Date.now() >= deadline) throw queryTimeout(what, this.queryBudgetMs);
        yield next.value;
      }
    } finally {
      // Resets the statement when the rows are left early (budget, error, a consumer that stops).
      rows.return?.();
    }
  }

  /**
   * One statement reads the matches once (from the search indexes and search_matches) and returns
   * every count, the span of their lastSeen and, when the query's time range gives the histogram's
   * buckets, the histogram; otherwise a second statement counts the buckets of the span. Over
   * budget: FP_QUERY_TIMEOUT.
   */
  async facets(query: IncidentQuery): Promise<IncidentFacets> {
    const { where, params } = this.filters(query);
    const deadline = Date.now() + this.queryBudgetMs;
    const matching = (...more: string[]) => `FROM incidents ${where.length + more.length ? `WHERE ${[...where, ...more].join(' AND ')}` : ''}`;
    // CAST: better-sqlite3 binds JS numbers as REAL, which makes the division fractional.
    const bucket = 'CAST((last_seen - @histogramFrom) / @bucketMs AS INTEGER)';
    const bucketParams = (range: HistogramRange) => ({ ...params, histogramFrom: range.from, bucketMs: range.bucketMs });
    const knownRange = histogramRange(query, undefined);
    const top = (facet: FacetName, column: string, from: string, count: string) =>
      `SELECT * FROM (SELECT '${facet}' AS facet, ${column} AS value, ${count} AS count, NULL AS last FROM ${from} WHERE ${column} IS NOT NULL GROUP BY ${column} ORDER BY count DESC, value ASC LIMIT ${FACET_SIZE})`;
    const grouped = GROUPED_FACETS.map(([, column]) => column).join(', ');
    const arms = [
      ...GROUPED_FACETS.map(([facet, column]) => top(facet, column, 'groups', 'SUM(n)')),
      top('container', 'container_name', 'matches', 'COUNT(*)'),
      `SELECT 'span', MIN(last_seen), COUNT(*), MAX(last_seen) FROM matches`,
      ...(knownRange ? [`SELECT 'histogram', ${bucket} AS bucket_index, COUNT(*), NULL FROM matches WHERE last_seen >= @histogramFrom GROUP BY bucket_index`] : []),
    ];
    const sql = `WITH matches AS MATERIALIZED (SELECT ${grouped}, container_name, last_seen ${matching()}),
      groups AS MATERIALIZED (SELECT ${grouped}, COUNT(*) AS n FROM matches GROUP BY ${grouped})
      ${arms.join(' UNION ALL ')}`;
    const rows = [...this.rowsWithinBudget<FacetRow>('facets', sql, knownRange ? bucketParams(knownRange) : params, deadline)];
    const span = rows.find((r) => r.facet === 'span');
    const total = span?.count ?? 0;
    const range = histogramRange(query, total > 0 && typeof span?.value === 'number' && span.last !== null ? { min: span.value, max: span.last } : undefined);
    const buckets =
      knownRange || !range
        ? rows.filter((r) => r.facet === 'histogram')
        : [...this.rowsWithinBudget<Pick<FacetRow, 'value' | 'count'>>('facets', `SELECT ${bucket} AS value, COUNT(*) AS count ${matching('last_seen >= @histogramFrom')} GROUP BY value`, bucketParams(range), deadline)];
    const counts = (facet: FacetName): FacetCount[] => rows.filter((r) => r.facet === facet).map((r) => ({ value: String(r.value), count: r.count }));
    return {
      total,
      kb: counts('kb'),
      host: counts('host'),
      severity: counts('severity'),
      status: counts('status'),
      container: counts('container'),
      histogram: histogramOf(range, buckets.map((b) => ({ index: Number(b.value), count: b.count }))),
    };
  }
}
