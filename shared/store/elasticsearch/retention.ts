import type { estypes } from '@elastic/elasticsearch';
import { Silence } from '../../silence.js';
import { retentionCutoff, silenceExpired, type ExpiredCounts } from '../retention.js';
import type { StoreContext } from './requests.js';

/** Documents deleted per round of requests. */
const BATCH = 1000;

/**
 * Deletes what `query` matches in `index`, a batch at a time (the distribution fineprint runs on
 * may lack delete-by-query). Each delete is conditional on the version that was read: a document
 * changed meanwhile (an incident re-opened, a head moved to a newer incident) is kept.
 */
async function deleteMatching({ client, timeout }: StoreContext, index: string, query: estypes.QueryDslQueryContainer): Promise<number> {
  let deleted = 0;
  for (;;) {
    const res = await client.search({ index, ignore_unavailable: true, allow_no_indices: true, size: BATCH, _source: false, seq_no_primary_term: true, query }, timeout);
    const hits = res.hits.hits;
    if (hits.length === 0) return deleted;
    const operations = hits.map((h) => ({ delete: { _index: h._index, _id: h._id as string, if_seq_no: h._seq_no as number, if_primary_term: h._primary_term as number } }));
    const bulk = await client.bulk({ operations, refresh: true }, timeout);
    const done = bulk.items.filter((item) => item.delete?.status === 200).length;
    deleted += done;
    // Every one changed meanwhile: the next sweep looks again.
    if (done === 0) return deleted;
  }
}

/**
 * Deletes the expired incidents of the Elasticsearch store with their evidence and the heads that
 * still name them, then the expired silences. Evidence goes before its incident: a sweep cut short
 * leaves incidents for the next one, never evidence nobody can reach.
 */
export async function expireElasticsearch(ctx: StoreContext, now: number, retentionMs: number): Promise<ExpiredCounts> {
  const { client, names, timeout } = ctx;
  const cutoff = retentionCutoff(now, retentionMs);
  const expired = { bool: { filter: [{ term: { 'fineprint.status': 'resolved' } }, { range: { 'fineprint.resolved_at': { lt: new Date(cutoff).toISOString() } } }] } };
  let incidents = 0;
  for (;;) {
    const res = await client.search({ index: names.incidentsAlias, ignore_unavailable: true, allow_no_indices: true, size: BATCH, _source: false, query: expired }, timeout);
    const ids = res.hits.hits.flatMap((h) => (h._id ? [h._id] : []));
    if (ids.length === 0) break;
    await deleteMatching(ctx, names.evidenceAlias, { terms: { 'fineprint.incident_id': ids } });
    await deleteMatching(ctx, names.heads, { terms: { incident_id: ids } });
    const deleted = await deleteMatching(ctx, names.incidentsAlias, { bool: { filter: [expired, { ids: { values: ids } }] } });
    incidents += deleted;
    if (deleted === 0) break;
  }

  const res = await client.search<{ body: unknown }>({ index: names.silences, size: 10_000, query: { match_all: {} } }, timeout);
  const ended = res.hits.hits.flatMap((h) => {
    const parsed = Silence.safeParse(h._source?.body);
    return h._id && parsed.success && silenceExpired(parsed.data, cutoff) ? [h._id] : [];
  });
  const silences = ended.length > 0 ? await deleteMatching(ctx, names.silences, { ids: { values: ended } }) : 0;
  return { incidents, silences };
}
