import { MAX_CONSEQUENCES, type IncidentLink } from '../../incident.js';
import type { IncidentSource } from './mappings.js';
import type { StoreContext } from './requests.js';

/**
 * The incidents linked to one, in one search: the cause its `causedBy` names (if it still exists)
 * and the consequences that name it, first seen first.
 */
export async function incidentLinks(
  { client, names, timeout }: StoreContext,
  incident: { id: string; causedBy: string | null },
): Promise<{ cause: IncidentLink | null; consequences: IncidentLink[] }> {
  const res = await client.search<IncidentSource>(
    {
      index: names.incidentsAlias,
      ignore_unavailable: true,
      allow_no_indices: true,
      track_total_hits: false,
      size: MAX_CONSEQUENCES + 1,
      _source: ['fineprint.incident_id', 'fineprint.caused_by', 'rule.id', 'rule.name'],
      query: {
        bool: {
          should: [{ term: { 'fineprint.caused_by': incident.id } }, ...(incident.causedBy === null ? [] : [{ ids: { values: [incident.causedBy] } }])],
          minimum_should_match: 1,
        },
      },
      sort: [{ 'event.start': { order: 'asc' } }, { 'fineprint.incident_id': { order: 'asc' } }],
    },
    timeout,
  );
  let cause: IncidentLink | null = null;
  const consequences: IncidentLink[] = [];
  for (const hit of res.hits.hits) {
    const doc = hit._source;
    if (!doc) continue;
    const link = { id: doc.fineprint.incident_id, kbId: doc.rule.id, title: doc.rule.name };
    if (link.id === incident.causedBy) cause = link;
    if (doc.fineprint.caused_by === incident.id && consequences.length < MAX_CONSEQUENCES) consequences.push(link);
  }
  return { cause, consequences };
}
