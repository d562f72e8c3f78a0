import type { SqliteDatabase } from '../sqlite.js';
import type { FacetCount } from './index.js';
import { meanOf, STATS_BREAKDOWN_SIZE, STATS_OFFENDERS, statsRange, type IncidentStats, type StatsQuery } from './stats.js';

/** Epoch ms of an ISO 8601 time inside a JSON lifecycle mark (julianday reads the trailing Z). */
const markMs = (column: string) => `((julianday(json_extract(${column}, '$.at')) - 2440587.5) * 86400000.0)`;

/** The stats of the incidents first seen in a range, by SQL aggregates over the incidents table. */
export function sqliteStats(db: SqliteDatabase): (query: StatsQuery, now: number) => IncidentStats {
  // A range of the history, not all of it: 100,000 incidents scanned for a day's stats cost ~50 ms each time.
  db.exec(`CREATE INDEX IF NOT EXISTS incidents_first_seen ON incidents (first_seen)`);
  const range = 'first_seen >= @from AND first_seen <= @to';
  const breakdown = (column: string) =>
    db.prepare<{ from: number; to: number }, FacetCount>(
      `SELECT ${column} AS value, COUNT(*) AS count FROM incidents WHERE ${range} AND ${column} IS NOT NULL AND ${column} != ''
       GROUP BY ${column} ORDER BY count DESC, value ASC LIMIT ${STATS_BREAKDOWN_SIZE}`,
    );
  const statements = {
    kb: breakdown('kb_id'),
    image: breakdown('container_image'),
    host: breakdown('host'),
    totals: db.prepare<{ from: number; to: number }, { total: number; acked: number; ack_sum: number | null; resolved: number; resolve_sum: number | null }>(
      `SELECT COUNT(*) AS total,
         COUNT(acknowledged) AS acked, SUM(${markMs('acknowledged')} - first_seen) AS ack_sum,
         COUNT(resolved_at) AS resolved, SUM(resolved_at - first_seen) AS resolve_sum
       FROM incidents WHERE ${range}`,
    ),
    // The bare container_image comes from the row of MAX(last_seen): the image of its latest incident.
    offenders: db.prepare<{ from: number; to: number }, { container: string; image: string | null; incidents: number; occurrences: number; latest: number }>(
      `SELECT container_name AS container, container_image AS image, COUNT(*) AS incidents, SUM(count) AS occurrences, MAX(last_seen) AS latest
       FROM incidents WHERE ${range} AND container_name IS NOT NULL
       GROUP BY container_name ORDER BY occurrences DESC, incidents DESC, container ASC LIMIT ${STATS_OFFENDERS}`,
    ),
  };
  return (query, now) => {
    const { from, to } = statsRange(query, now);
    const params = { from, to };
    const totals = statements.totals.get(params);
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      total: totals?.total ?? 0,
      kb: statements.kb.all(params),
      image: statements.image.all(params),
      host: statements.host.all(params),
      timeToAcknowledge: meanOf(totals?.ack_sum, totals?.acked ?? 0),
      timeToResolve: meanOf(totals?.resolve_sum, totals?.resolved ?? 0),
      offenders: statements.offenders.all(params).map(({ container, image, incidents, occurrences }) => ({ container, image: image || null, incidents, occurrences })),
    };
  };
}
