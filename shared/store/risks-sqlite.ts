import { FineprintError } from '../errors.js';
import { severityRank, type Severity } from '../kb/schema.js';
import {
  DAEMON_FILTER,
  emptySeverityCounts,
  findingsByKb,
  isContainerIdPrefix,
  riskId,
  severityTotal,
  severityWeight,
  WORST_CONTAINERS,
  type Risk,
  type RiskFacets,
  type RiskPage,
  type RiskQuery,
  type RiskRecord,
  type RiskStore,
  type RiskSummary,
  type SeverityCounts,
} from '../risk.js';
import type { SqliteDatabase } from '../sqlite.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { FACET_SIZE, type FacetCount } from './index.js';

/** Risks live in their own table; `container_id` is '' for the daemon's findings. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS risks (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  container_id TEXT NOT NULL,
  container_name TEXT,
  container_image TEXT,
  kb_id TEXT NOT NULL,
  severity TEXT NOT NULL,
  rank INTEGER NOT NULL,
  weight INTEGER NOT NULL,
  message TEXT NOT NULL,
  fix TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS risks_subject ON risks (host, container_id);
CREATE INDEX IF NOT EXISTS risks_order ON risks (rank DESC, id);
`;

interface RiskRow {
  id: string;
  host: string;
  container_id: string;
  container_name: string | null;
  container_image: string | null;
  kb_id: string;
  severity: Severity;
  message: string;
  fix: string;
  first_seen: number;
  last_seen: number;
  rank: number;
}

function toRisk(row: RiskRow): Risk {
  return {
    id: row.id,
    host: row.host,
    container: row.container_id ? { id: row.container_id, name: row.container_name ?? '', image: row.container_image ?? '' } : null,
    kbId: row.kb_id,
    severity: row.severity,
    message: row.message,
    fix: row.fix,
    firstSeen: new Date(row.first_seen).toISOString(),
    lastSeen: new Date(row.last_seen).toISOString(),
  };
}

/**
 * Risk incidents filed by earlier versions (fingerprint `risk:...`) are dropped with their evidence
 * and search rows: the audit at the collector's start rebuilds the posture from the live containers.
 */
export function dropRiskIncidents(db: SqliteDatabase): void {
  db.transaction(() => {
    const ids = `SELECT id FROM incidents WHERE fingerprint LIKE 'risk:%'`;
    db.exec(`DELETE FROM incidents_fts WHERE rowid IN (SELECT fts_rowid FROM incidents_fts_rows WHERE id IN (${ids}))`);
    db.exec(`DELETE FROM incidents_fts_rows WHERE id IN (${ids})`);
    db.exec(`DELETE FROM evidence WHERE fingerprint LIKE 'risk:%'`);
    db.exec(`DELETE FROM incidents WHERE fingerprint LIKE 'risk:%'`);
  })();
}

/** The embedded store's risks (see RiskStore); the Elasticsearch store keeps the same contract. */
export class SqliteRiskStore implements RiskStore {
  private readonly statements;
  private readonly applyTransaction: (records: readonly RiskRecord[]) => void;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.statements = {
      upsert: db.prepare(
        `INSERT INTO risks (id, host, container_id, container_name, container_image, kb_id, severity, rank, weight, message, fix, first_seen, last_seen)
         VALUES (@id, @host, @containerId, @name, @image, @kbId, @severity, @rank, @weight, @message, @fix, @observedAt, @observedAt)
         ON CONFLICT (id) DO UPDATE SET container_name = excluded.container_name, container_image = excluded.container_image,
           severity = excluded.severity, rank = excluded.rank, weight = excluded.weight, message = excluded.message, fix = excluded.fix,
           first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)`,
      ),
      subject: db.prepare<[string, string], { id: string }>(`SELECT id FROM risks WHERE host = ? AND container_id = ?`),
      delete: db.prepare<[string]>(`DELETE FROM risks WHERE id = ?`),
      hostContainers: db.prepare<[string, number], { container_id: string }>(
        `SELECT DISTINCT container_id FROM risks WHERE host = ? AND container_id != '' AND last_seen < ?`,
      ),
      deleteSubjectBefore: db.prepare<[string, string, number]>(`DELETE FROM risks WHERE host = ? AND container_id = ? AND last_seen < ?`),
    };
    this.applyTransaction = db.transaction((records: readonly RiskRecord[]) => {
      for (const record of records) this.applyOne(record);
    });
  }

  private applyOne(record: RiskRecord): void {
    const s = this.statements;
    if (record.scope === 'present') {
      const present = new Set(record.containers);
      for (const { container_id } of s.hostContainers.all(record.host, record.observedAt)) {
        if (!present.has(container_id)) s.deleteSubjectBefore.run(record.host, container_id, record.observedAt);
      }
      return;
    }
    const containerId = record.container?.id ?? '';
    const keep = new Set<string>();
    for (const finding of findingsByKb(record.findings)) {
      const id = riskId(record.host, record.container?.id ?? null, finding.kbId);
      keep.add(id);
      s.upsert.run({
        id,
        host: record.host,
        containerId,
        name: record.container?.name ?? null,
        image: record.container?.image ?? null,
        kbId: finding.kbId,
        severity: finding.severity,
        rank: severityRank(finding.severity),
        weight: severityWeight(finding.severity),
        message: finding.message,
        fix: finding.fix,
        observedAt: record.observedAt,
      });
    }
    for (const { id } of s.subject.all(record.host, containerId)) if (!keep.has(id)) s.delete.run(id);
  }

  async applyRisks(records: readonly RiskRecord[]): Promise<void> {
    if (records.length > 0) this.applyTransaction(records);
  }

  private filters(query: RiskQuery): { where: string; params: Record<string, string> } {
    const where: string[] = [];
    const params: Record<string, string> = {};
    if (query.host !== undefined) {
      where.push('host = @host');
      params.host = query.host;
    }
    if (query.kbId !== undefined) {
      where.push('kb_id = @kbId');
      params.kbId = query.kbId;
    }
    if (query.severity !== undefined) {
      where.push('severity = @severity');
      params.severity = query.severity;
    }
    if (query.container !== undefined) {
      if (query.container === DAEMON_FILTER) {
        where.push(`container_id = ''`);
      } else {
        where.push(isContainerIdPrefix(query.container) ? `(container_name = @container OR substr(container_id, 1, length(@container)) = @container)` : 'container_name = @container');
        params.container = query.container;
      }
    }
    return { where: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
  }

  private all<T>(sql: string, params: Record<string, string | number>): T[] {
    try {
      return this.db.prepare<Record<string, string | number>, T>(sql).all(params);
    } catch (error) {
      throw new FineprintError('FP_STORE_UNAVAILABLE', `risks query failed: ${(error as Error).message}`, undefined, { cause: error });
    }
  }

  async searchRisks(query: RiskQuery): Promise<RiskPage> {
    const { where, params } = this.filters(query);
    const conditions = [where];
    const all: Record<string, string | number> = { ...params, limit: query.limit + 1 };
    if (query.cursor) {
      const [rank, id] = decodeCursor(query.cursor);
      conditions.push(`${where ? 'AND' : 'WHERE'} (rank < @cursorRank OR (rank = @cursorRank AND id > @cursorId))`);
      all.cursorRank = rank;
      all.cursorId = id;
    }
    const rows = this.all<RiskRow>(`SELECT * FROM risks ${conditions.join(' ')} ORDER BY rank DESC, id ASC LIMIT @limit`, all);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return { risks: page.map(toRisk), nextCursor: rows.length > query.limit && last ? encodeCursor(last.rank, last.id) : null };
  }

  async riskFacets(query: RiskQuery): Promise<RiskFacets> {
    const { where, params } = this.filters(query);
    const counts = (column: string): FacetCount[] =>
      this.all<FacetCount>(
        `SELECT ${column} AS value, COUNT(*) AS count FROM risks ${where ? `${where} AND` : 'WHERE'} ${column} IS NOT NULL GROUP BY ${column} ORDER BY count DESC, value ASC LIMIT ${FACET_SIZE}`,
        params,
      );
    const [total] = this.all<{ total: number }>(`SELECT COUNT(*) AS total FROM risks ${where}`, params);
    return { total: total?.total ?? 0, kbId: counts('kb_id'), host: counts('host'), severity: counts('severity'), container: counts('container_name') };
  }

  async riskSummary(): Promise<RiskSummary> {
    const bySeverity = emptySeverityCounts();
    const byKb = new Map<string, SeverityCounts>();
    for (const row of this.all<{ kb_id: string; severity: Severity; count: number }>(`SELECT kb_id, severity, COUNT(*) AS count FROM risks GROUP BY kb_id, severity`, {})) {
      bySeverity[row.severity] += row.count;
      const counts = byKb.get(row.kb_id) ?? emptySeverityCounts();
      counts[row.severity] += row.count;
      byKb.set(row.kb_id, counts);
    }
    const worst = this.all<{ host: string; container_id: string; name: string | null; image: string | null }>(
      `SELECT host, container_id, MAX(container_name) AS name, MAX(container_image) AS image FROM risks WHERE container_id != ''
       GROUP BY host, container_id ORDER BY SUM(weight) DESC, host || '/' || container_id ASC LIMIT ${WORST_CONTAINERS}`,
      {},
    );
    const worstContainers = worst.map((w) => {
      const counts = emptySeverityCounts();
      for (const r of this.all<{ severity: Severity; count: number }>(`SELECT severity, COUNT(*) AS count FROM risks WHERE host = @host AND container_id = @id GROUP BY severity`, { host: w.host, id: w.container_id })) {
        counts[r.severity] = r.count;
      }
      return { host: w.host, container: { id: w.container_id, name: w.name ?? '', image: w.image ?? '' }, total: severityTotal(counts), bySeverity: counts };
    });
    return {
      total: severityTotal(bySeverity),
      bySeverity,
      byKb: [...byKb.entries()].map(([kbId, counts]) => ({ kbId, total: severityTotal(counts), bySeverity: counts })).sort((a, b) => b.total - a.total || a.kbId.localeCompare(b.kbId)),
      worstContainers,
    };
  }
}
