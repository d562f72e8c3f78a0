import { ContainerFacts } from '../event.js';
import { incidentSummary } from '../incident-summary.js';
import { FineprintError } from '../errors.js';
import { IncidentContext, type Evidence, type Incident, type IncidentDetail, type IncidentUpdate, type LifecycleMark } from '../incident.js';
import type { KnowledgeBase } from '../kb/load.js';
import { Silence } from '../silence.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../sqlite.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { dropRiskIncidents, SqliteRiskStore } from './risks-sqlite.js';
import type { ExpiredCounts } from './retention.js';
import { expireSqlite } from './sqlite-retention.js';
import { DEFAULT_REOPEN_WINDOW_MS, type ActiveOccurrence, type IncidentPage, type IncidentQuery, type IncidentStore, type LifecycleOptions, type ResolveMark } from './index.js';
import { FACET_SIZE, histogramOf, histogramRange, type FacetCount, type IncidentFacets } from './index.js';
import { QUERY_BUDGET_MS, queryTimeout, searchTerms, type QueryBudgetOptions } from './search-terms.js';
import { acknowledges, autoResolveMark, filesIntoLatest, incidentSearchText, isQuiet, kbSearchTexts, reopens, resolves, SEARCHED_EVIDENCE, severitiesOf } from './incident-rules.js';

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
CREATE INDEX IF NOT EXISTS incidents_last_seen ON incidents (last_seen DESC, id DESC);
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
CREATE VIRTUAL TABLE IF NOT EXISTS incidents_fts USING fts5 (id UNINDEXED, text);
-- Where each incident's row is in incidents_fts: its id column cannot be indexed, and deleting by it
-- scanned the whole index on every update (100,000 incidents: minutes per thousand signals).
CREATE TABLE IF NOT EXISTS incidents_fts_rows (id TEXT PRIMARY KEY, fts_rowid INTEGER NOT NULL);
-- And back: a search maps its matches' rowids to incident ids here, never reading incidents_fts's
-- own id column (stored beside the whole text, it cost a read of each match's text).
CREATE INDEX IF NOT EXISTS incidents_fts_rows_rowid ON incidents_fts_rows (fts_rowid, id);
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
type IncidentColumns = Omit<IncidentRow, 'facts' | 'context' | 'resolved_at'>;
const INCIDENT_COLUMNS =
  'id, fingerprint, kb_id, title, severity, status, host, container_id, container_name, container_image, compose_project, compose_service, count, first_seen, last_seen, message, summary, acknowledged, resolved, reopened, updated_at';

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
    firstSeen: new Date(row.first_seen).toISOString(),
    lastSeen: new Date(row.last_seen).toISOString(),
    message: row.message,
    summary: row.summary,
    acknowledged: row.acknowledged ? (JSON.parse(row.acknowledged) as LifecycleMark) : null,
    resolved: row.resolved ? (JSON.parse(row.resolved) as ResolveMark) : null,
    reopened: row.reopened,
    updatedAt: new Date(row.updated_at).toISOString(),
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
];

/** Brings an older database up to SCHEMA; true when every incident's summary and search text must be written anew. */
function migrate(db: SqliteDatabase): boolean {
  const present = new Set(db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('incidents')`).all().map((c) => c.name));
  for (const [column, type] of ADDED_COLUMNS) {
    if (!present.has(column)) db.exec(`ALTER TABLE incidents ADD COLUMN ${column} ${type}`);
  }
  db.exec(`CREATE INDEX IF NOT EXISTS incidents_updated ON incidents (updated_at)`);
  // A search index of separate columns, from before evidence was searchable: indexed anew.
  const ftsColumns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('incidents_fts')`).all().map((c) => c.name);
  if (ftsColumns.join(',') === 'id,text') return !present.has('summary');
  db.exec(`DROP TABLE incidents_fts; DELETE FROM incidents_fts_rows; CREATE VIRTUAL TABLE incidents_fts USING fts5 (id UNINDEXED, text)`);
  return true;
}

function prepareStatements(db: SqliteDatabase) {
  return {
    // The fingerprint's latest incident, resolved or not: a recurrence may re-open it.
    latest: db.prepare<[string], { id: string; status: Incident['status']; resolved_at: number | null }>(
      `SELECT id, status, resolved_at FROM incidents WHERE fingerprint = ? ORDER BY rowid DESC LIMIT 1`,
    ),
    hasOccurrence: db.prepare<[string, string], { one: number }>(`SELECT 1 AS one FROM evidence WHERE incident_id = ? AND occurrence_id = ? LIMIT 1`),
    insertIncident: db.prepare(
      `INSERT OR IGNORE INTO incidents (id, fingerprint, kb_id, title, severity, status, host, count, first_seen, last_seen, message, updated_at)
       VALUES (@id, @fingerprint, @kbId, @title, @severity, 'open', @host, 0, @ts, @ts, @message, @now)`,
    ),
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
      `UPDATE incidents SET count = (SELECT COUNT(DISTINCT occurrence_id) FROM evidence WHERE incident_id = @id),
         first_seen = COALESCE((SELECT MIN(ts) FROM evidence WHERE incident_id = @id), first_seen),
         last_seen = COALESCE((SELECT MAX(ts) FROM evidence WHERE incident_id = @id), last_seen),
         updated_at = @now
       WHERE id = @id`,
    ),
    moveEvidence: db.prepare(
      `UPDATE OR IGNORE evidence SET fingerprint = @into, incident_id = @intoId, occurrence_id = @intoOccurrence
       WHERE fingerprint = @from AND occurrence_id = @occurrence`,
    ),
    dropEvidence: db.prepare(`DELETE FROM evidence WHERE fingerprint = ? AND occurrence_id = ?`),
    deleteEmpty: db.prepare(`DELETE FROM incidents WHERE id = ? AND count = 0`),
    row: db.prepare<[string], IncidentRow>(`SELECT * FROM incidents WHERE id = ?`),
    ftsDelete: db.prepare(`DELETE FROM incidents_fts WHERE rowid = (SELECT fts_rowid FROM incidents_fts_rows WHERE id = ?)`),
    ftsRowSet: db.prepare(`INSERT OR REPLACE INTO incidents_fts_rows (id, fts_rowid) VALUES (?, ?)`),
    ftsRowDelete: db.prepare(`DELETE FROM incidents_fts_rows WHERE id = ?`),
    ftsInsert: db.prepare(`INSERT INTO incidents_fts (id, text) VALUES (?, ?)`),
    allIds: db.prepare<[], { id: string }>(`SELECT id FROM incidents`),
    searchedEvidence: db.prepare<[string, number], { event_id: string; ts: number; message: string; action: string | null; exit_code: number | null }>(
      `SELECT event_id, ts, json_extract(body, '$.message') AS message, json_extract(body, '$.action') AS action, json_extract(body, '$.exitCode') AS exit_code
       FROM evidence WHERE incident_id = ? ORDER BY ts DESC, event_id DESC LIMIT ?`,
    ),
    setSummary: db.prepare(`UPDATE incidents SET summary = ? WHERE id = ?`),
    evidence: db.prepare<[string], { body: string }>(`SELECT body FROM evidence WHERE incident_id = ? ORDER BY ts DESC, event_id DESC LIMIT 100`),
    active: db.prepare<[number], { fingerprint: string; incident_id: string; occurrence_id: string; last_ts: number }>(
      `SELECT fingerprint, incident_id, occurrence_id, MAX(ts) AS last_ts FROM evidence WHERE ts >= ?
       GROUP BY fingerprint, occurrence_id ORDER BY last_ts`,
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

/**
 * The embedded incident store: one row per incident and per piece of evidence, an FTS5 index of
 * each incident's search text, all changed in one transaction per batch of updates.
 */
export class SqliteIncidentStore implements IncidentStore {
  private readonly kbText: Map<string, string>;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly applyTransaction: (updates: IncidentUpdate[]) => Incident[];
  private readonly reopenWindowMs: number;
  private readonly queryBudgetMs: number;
  private readonly statementsBySql = new Map<string, Statement>();
  readonly risks: SqliteRiskStore;

  constructor(
    private readonly db: SqliteDatabase,
    kb: KnowledgeBase,
    options: LifecycleOptions & QueryBudgetOptions = {},
  ) {
    this.reopenWindowMs = options.reopenWindowMs ?? DEFAULT_REOPEN_WINDOW_MS;
    this.queryBudgetMs = options.queryBudgetMs ?? QUERY_BUDGET_MS;
    db.exec(SCHEMA);
    const reindexAll = migrate(db);
    this.statements = prepareStatements(db);
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
    const { lastInsertRowid } = this.statements.ftsInsert.run(id, text);
    this.statements.ftsRowSet.run(id, lastInsertRowid);
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
        const knownOccurrence = s.hasOccurrence.get(id, evidence.occurrenceId) !== undefined;
        // Evidence first: a replayed event changes nothing, not even an empty incident row.
        const inserted = s.insertEvidence.run(update.fingerprint, evidence.eventId, id, evidence.occurrenceId, evidence.ts, JSON.stringify(evidence));
        if (inserted.changes === 0) continue;
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
        s.recount.run({ id, now });
        changed.add(id);
      } else {
        const from = this.currentIncident(update.fingerprint);
        const into = this.currentIncident(update.intoFingerprint);
        if (!from || !into) continue;
        const moved = s.moveEvidence.run({ into: update.intoFingerprint, intoId: into.id, intoOccurrence: update.intoOccurrenceId, from: update.fingerprint, occurrence: update.occurrenceId });
        const dropped = s.dropEvidence.run(update.fingerprint, update.occurrenceId);
        if (moved.changes === 0 && dropped.changes === 0) continue;
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
    return expireSqlite(this.db, now, retentionMs);
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
    return {
      ...toIncident(row),
      facts: facts?.success ? facts.data : null,
      ...(context?.success ? context.data : {}),
      evidence: this.statements.evidence.all(id).map((r) => JSON.parse(r.body) as Evidence),
    };
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
        where.push('id IN (SELECT id FROM incidents_fts_rows WHERE fts_rowid IN (SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH @fts))');
        params.fts = expression;
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
  private *rowsWithinBudget<Row>(what: string, sql: string, params: Record<string, string | number>): Generator<Row> {
    const deadline = Date.now() + this.queryBudgetMs;
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
   * The filter runs once: its matches go to a temporary table (only the columns counted), and
   * every count and the histogram read that. Over budget once the matches are in: FP_QUERY_TIMEOUT.
   */
  async facets(query: IncidentQuery): Promise<IncidentFacets> {
    const { where, params } = this.filters(query);
    const deadline = Date.now() + this.queryBudgetMs;
    const run = <T>(sql: string, extra: Record<string, number> = {}): T[] => {
      try {
        return this.prepared<Record<string, number>, T>(sql).all(extra);
      } catch (error) {
        throw new FineprintError('FP_STORE_UNAVAILABLE', `facets failed: ${(error as Error).message}`, undefined, { cause: error });
      }
    };
    try {
      this.db.exec(`CREATE TEMP TABLE IF NOT EXISTS facet_matches (kb_id TEXT, host TEXT, severity TEXT, status TEXT, container_name TEXT, last_seen INTEGER)`);
      this
        .prepared<Record<string, string | number>>(
          `INSERT INTO facet_matches SELECT kb_id, host, severity, status, container_name, last_seen FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
        )
        .run(params);
    } catch (error) {
      this.db.exec('DELETE FROM facet_matches');
      throw new FineprintError('FP_STORE_UNAVAILABLE', `facets failed: ${(error as Error).message}`, undefined, { cause: error });
    }
    try {
      if (Date.now() >= deadline) throw queryTimeout('facets', this.queryBudgetMs);
      const counts = (column: string): FacetCount[] =>
        run<FacetCount>(`SELECT ${column} AS value, COUNT(*) AS count FROM facet_matches WHERE ${column} IS NOT NULL GROUP BY ${column} ORDER BY count DESC, value ASC LIMIT ${FACET_SIZE}`);
      const [span] = run<{ total: number; min: number | null; max: number | null }>(`SELECT COUNT(*) AS total, MIN(last_seen) AS min, MAX(last_seen) AS max FROM facet_matches`);
      const total = span?.total ?? 0;
      const range = histogramRange(query, total > 0 && span?.min != null && span.max != null ? { min: span.min, max: span.max } : undefined);
      // CAST: better-sqlite3 binds JS numbers as REAL, which makes the division fractional.
      const buckets = range
        ? run<{ bucket_index: number; count: number }>(
            `SELECT CAST((last_seen - @histogramFrom) / @bucketMs AS INTEGER) AS bucket_index, COUNT(*) AS count FROM facet_matches WHERE last_seen >= @histogramFrom GROUP BY bucket_index`,
            { histogramFrom: range.from, bucketMs: range.bucketMs },
          )
        : [];
      return {
        total,
        kb: counts('kb_id'),
        host: counts('host'),
        severity: counts('severity'),
        status: counts('status'),
        container: counts('container_name'),
        histogram: histogramOf(range, buckets.map((b) => ({ index: b.bucket_index, count: b.count }))),
      };
    } finally {
      this.db.exec('DELETE FROM facet_matches');
    }
  }
}
