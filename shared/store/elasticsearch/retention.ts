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

/** The monthly indices behind an alias (`<alias>-YYYY.MM`), oldest first. */
async function monthlyIndices({ client, timeout }: StoreContext, alias: string): Promise<string[]> {
  const found = await client.indices.get({ index: `${alias}-*`, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'open' }, timeout);
  return Object.keys(found)
    .filter((name) => /^\d{4}\.\d{2}$/.test(name.slice(alias.length + 1)))
    .sort();
}

/**
 * Deletes whole the monthly incident indices that hold expired incidents only (after the heads
 * that name them): no document-by-document deletes for a month that has gone entirely.
 */
async function expireWholeMonths(ctx: StoreContext, now: number, expired: estypes.QueryDslQueryContainer): Promise<number> {
  const { client, names, timeout } = ctx;
  let incidents = 0;
  const current = names.incidentIndex(now);
  for (const index of await monthlyIndices(ctx, names.incidentsAlias)) {
    // The current month takes new incidents: it is left to the document-by-document sweep.
    if (index >= current) continue;
    const live = await client.count({ index, query: { bool: { must_not: [expired] } } }, timeout);
    if (live.count > 0) continue;
    const total = (await client.count({ index }, timeout)).count;
    let after: estypes.SortResults | undefined;
    for (;;) {
      const res = await client.search({ index, size: BATCH, _source: false, query: { match_all: {} }, sort: ['_doc'], ...(after ? { search_after: after } : {}) }, timeout);
      const ids = res.hits.hits.flatMap((h) => (h._id ? [h._id] : []));
      if (ids.length > 0) await deleteMatching(ctx, names.heads, { terms: { incident_id: ids } });
      after = res.hits.hits.at(-1)?.sort;
      if (ids.length < BATCH || !after) break;
    }
    await client.indices.delete({ index }, timeout);
    incidents += total;
  }
  return incidents;
}

/**
 * Deletes whole the monthly evidence indices older than the earliest evidence of any incident
 * left (its first seen): what they hold belongs to incidents deleted already. The current month is kept.
 */
async function expireEvidenceMonths(ctx: StoreContext, now: number): Promise<void> {
  const { client, names, timeout } = ctx;
  const res = await client.search({ index: names.incidentsAlias, ignore_unavailable: true, allow_no_indices: true, size: 0, aggs: { earliest: { min: { field: 'event.start' } } } }, timeout);
  const earliest = (res.aggregations?.earliest as estypes.AggregationsMinAggregate | undefined)?.value;
  const keepFrom = names.evidenceIndex(typeof earliest === 'number' ? Math.min(earliest, now) : now);
  const old = (await monthlyIndices(ctx, names.evidenceAlias)).filter((index) => index < keepFrom);
  if (old.length > 0) await client.indices.delete({ index: old }, timeout);
}

/**
 * Deletes the expired incidents of the Elasticsearch store: months of expired incidents only go
 * whole; elsewhere each expired incident goes with its evidence and the heads that still name it
 * (evidence before its incident: a sweep cut short leaves incidents for the next one, never
 * evidence nobody can reach); then evidence months older than every incident left, and the
 * expired silences.
 */
export async function expireElasticsearch(ctx: StoreContext, now: number, retentionMs: number): Promise<ExpiredCounts> {
  const { client, names, timeout } = ctx;
  const cutoff = retentionCutoff(now, retentionMs);
  const expired = { bool: { filter: [{ term: { 'fineprint.status': 'resolved' } }, { range: { 'fineprint.resolved_at': { lt: new Date(cutoff).toISOString() } } }] } };
  let incidents = await expireWholeMonths(ctx, now, expired);
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

  await expireEvidenceMonths(ctx, now);

  const res = await client.search<{ body: unknown }>({ index: names.silences, size: 10_000, query: { match_all: {} } }, timeout);
  const ended = res.hits.hits.flatMap((h) => {
    const parsed = Silence.safeParse(h._source?.body);
    return h._id && parsed.success && silenceExpired(parsed.data, cutoff) ? [h._id] : [];
  });
  const silences = ended.length > 0 ? await deleteMatching(ctx, names.silences, { ids: { values: ended } }) : 0;
  return { incidents, silences };
}
