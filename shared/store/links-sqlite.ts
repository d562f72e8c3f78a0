import { MAX_CONSEQUENCES, type IncidentLink } from '../incident.js';
import type { SqliteDatabase } from '../sqlite.js';

interface LinkRow {
  id: string;
  kb_id: string;
  title: string;
}

const toLink = (row: LinkRow): IncidentLink => ({ id: row.id, kbId: row.kb_id, title: row.title });

/** Reads the incidents linked to one: the cause its `causedBy` names (if it still exists) and the consequences that name it. */
export function sqliteIncidentLinks(db: SqliteDatabase): (incident: { id: string; causedBy: string | null }) => { cause: IncidentLink | null; consequences: IncidentLink[] } {
  const cause = db.prepare<[string], LinkRow>(`SELECT id, kb_id, title FROM incidents WHERE id = ?`);
  const consequences = db.prepare<[string, number], LinkRow>(`SELECT id, kb_id, title FROM incidents WHERE caused_by = ? ORDER BY first_seen, id LIMIT ?`);
  return ({ id, causedBy }) => {
    const row = causedBy === null ? undefined : cause.get(causedBy);
    return { cause: row ? toLink(row) : null, consequences: consequences.all(id, MAX_CONSEQUENCES).map(toLink) };
  };
}
