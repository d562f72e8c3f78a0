import type { estypes } from '@elastic/elasticsearch';
import { isNotFound } from '../../errors.js';
import type { IncidentDetail } from '../../incident.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { severitiesOf } from '../incident-rules.js';
import { FACET_SIZE, HISTOGRAM_BUCKETS, histogramOf, histogramRange, type ActiveOccurrence, type FacetCount, type HistogramRange, type IncidentFacets, type IncidentPage, type IncidentQuery } from '../index.js';
import { queryTimeout, searchTerms } from '../search-terms.js';
import { incidentLinks } from './links.js';
import { toIncident, type EvidenceSource, type IncidentSource } from './mappings.js';
import type { StoreContext } from './requests.js';

/*
 * Reads of the Elasticsearch store. Search and facets filter only (no scoring): `q` is one prefix
 * query per search term on the incident's folded words, all required; the other parameters are
 * term and range filters on keyword and date fields. Both run under Elasticsearch's own `timeout`.
 */

/** What reads need besides the client. */
export interface ReadContext extends StoreContext {
  /** How long one search or facets query may take (ms), reported as FP_QUERY_TIMEOUT. */
  queryBudgetMs: number;
}

const EVIDENCE_PER_INCIDENT = 100;

/** The query's filters (all but its cursor) as filter clauses: search and facets share them. */
function filters(query: IncidentQuery): estypes.QueryDslQueryContainer[] {
  const filter: estypes.QueryDslQueryContainer[] = [];
  // Built from words only, so user text is never query syntax.
  for (const term of searchTerms(query.q)) filter.push({ prefix: { 'fineprint.search_terms': term } });
  if (query.kb) filter.push({ term: { 'rule.id': query.kb } });
  if (query.host) filter.push({ term: { 'host.name': query.host } });
  const severities = severitiesOf(query);
  if (severities) filter.push({ terms: { 'fineprint.severity': severities } });
  if (query.status) filter.push({ term: { 'fineprint.status': query.status } });
  if (query.container) {
    const should: estypes.QueryDslQueryContainer[] = [
      { term: { 'container.name': query.container } },
      { term: { 'fineprint.compose.service': query.container } },
    ];
    // A container id prefix of at least 12 characters, ASCII case-insensitive.
    if (query.container.length >= 12) should.push({ prefix: { 'container.id': { value: query.container, case_insensitive: true } } });
    filter.push({ bool: { should, minimum_should_match: 1 } });
  }
  if (query.since !== undefined) filter.push({ range: { 'event.end': { gte: query.since, format: 'epoch_millis' } } });
  if (query.until !== undefined) filter.push({ range: { 'event.start': { lte: query.until, format: 'epoch_millis' } } });
  if (query.updatedSince !== undefined) filter.push({ range: { 'fineprint.updated_at': { gte: query.updatedSince, format: 'epoch_millis' } } });
  return filter;
}

export async function searchIncidents({ client, names, timeout, queryBudgetMs }: ReadContext, query: IncidentQuery): Promise<IncidentPage> {
  const filter = filters(query);
  const searchAfter = query.cursor ? decodeCursor(query.cursor) : undefined;
  const res = await client.search<IncidentSource>(
    {
      index: names.incidentsAlias,
      ignore_unavailable: true,
      allow_no_indices: true,
      track_total_hits: false,
      size: query.limit + 1,
      timeout: `${queryBudgetMs}ms`,
      _source: { excludes: ['fineprint.occurrences', 'fineprint.searched_evidence', 'fineprint.search_terms', 'fineprint.facts', 'fineprint.context', 'fineprint.kept_evidence'] },
      query: { bool: { filter } },
      sort: [{ 'event.end': { order: 'desc' } }, { 'fineprint.incident_id': { order: 'desc' } }],
      ...(searchAfter ? { search_after: searchAfter } : {}),
    },
    timeout,
  );
  if (res.timed_out) throw queryTimeout('search', queryBudgetMs);
  const docs = res.hits.hits.flatMap((h) => (h._source ? [h._source] : []));
  const page = docs.slice(0, query.limit).map(toIncident);
  const last = page.at(-1);
  return { incidents: page, nextCursor: docs.length > query.limit && last ? encodeCursor(Date.parse(last.lastSeen), last.id) : null };
}

/** The newest `size` pieces of an incident's evidence, as far as search sees them (refreshed), newest first. */
export async function newestEvidence({ client, names, timeout }: StoreContext, incidentId: string, size: number): Promise<EvidenceSource['fineprint'][]> {
  const res = await client.search<EvidenceSource>(
    {
      index: names.evidenceAlias,
      ignore_unavailable: true,
      allow_no_indices: true,
      size,
      track_total_hits: false,
      _source: ['fineprint.evidence', 'fineprint.occurrence_id'],
      query: { bool: { filter: [{ term: { 'fineprint.incident_id': incidentId } }] } },
      sort: [{ '@timestamp': { order: 'desc' } }, { 'event.id': { order: 'desc' } }],
    },
    timeout,
  );
  return res.hits.hits.flatMap((h) => (h._source ? [h._source.fineprint] : []));
}

/** An incident with its facts and newest evidence; undefined when there is none with this id. */
export async function getIncident({ client, names, timeout }: StoreContext, id: string): Promise<IncidentDetail | undefined> {
  try {
    const found = await client.search<IncidentSource>(
      {
        index: names.incidentsAlias,
        ignore_unavailable: true,
        allow_no_indices: true,
        size: 1,
        _source: { excludes: ['fineprint.occurrences', 'fineprint.searched_evidence', 'fineprint.search_terms'] },
        query: { ids: { values: [id] } },
        sort: [{ 'event.end': { order: 'desc' } }],
      },
      timeout,
    );
    const doc = found.hits.hits[0]?._source;
    if (!doc) return undefined;
    const kept = doc.fineprint.kept_evidence && new Set(doc.fineprint.kept_evidence.map((k) => k.eventId));
    // A piece dropped from the kept ones whose document outlived a crash is not shown.
    const evidence = (await newestEvidence({ client, names, timeout }, id, EVIDENCE_PER_INCIDENT)).filter((f) => !kept || kept.has(f.evidence.eventId));
    const incident = toIncident(doc);
    return { ...incident, ...(await incidentLinks({ client, names, timeout }, incident)), evidenceCount: Math.max(incident.evidenceCount, evidence.length), facts: doc.fineprint.facts ?? null, evidence: evidence.map((f) => f.evidence), ...doc.fineprint.context };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Per fingerprint, the occurrence with the latest evidence at or after `sinceTs`, oldest first. */
export async function activeOccurrences({ client, names, timeout }: StoreContext, sinceTs: number): Promise<ActiveOccurrence[]> {
  const active: ActiveOccurrence[] = [];
  let after: Record<string, estypes.FieldValue> | undefined;
  do {
    const res = await client.search<EvidenceSource>(
      {
        index: names.evidenceAlias,
        ignore_unavailable: true,
        allow_no_indices: true,
        size: 0,
        query: { range: { '@timestamp': { gte: sinceTs, format: 'epoch_millis' } } },
        aggs: {
          fingerprints: {
            composite: { size: 500, sources: [{ fp: { terms: { field: 'fineprint.fingerprint' } } }], ...(after ? { after } : {}) },
            aggs: {
              latest: {
                top_hits: {
                  size: 1,
                  sort: [{ '@timestamp': { order: 'desc' } }, { 'event.id': { order: 'desc' } }],
                  _source: ['fineprint.fingerprint', 'fineprint.incident_id', 'fineprint.occurrence_id', 'fineprint.evidence.ts'],
                },
              },
            },
          },
        },
      },
      timeout,
    );
    const agg = res.aggregations?.fingerprints as estypes.AggregationsCompositeAggregate | undefined;
    const buckets = (agg?.buckets ?? []) as (estypes.AggregationsCompositeBucket & { latest: estypes.AggregationsTopHitsAggregate })[];
    for (const bucket of buckets) {
      const f = (bucket.latest.hits.hits[0]?._source as EvidenceSource | undefined)?.fineprint;
      if (f) active.push({ fingerprint: f.fingerprint, incidentId: f.incident_id, occurrenceId: f.occurrence_id, lastTs: f.evidence.ts });
    }
    after = buckets.length > 0 ? agg?.after_key : undefined;
  } while (after);
  return active.sort((a, b) => a.lastTs - b.lastTs);
}

/** Terms aggregations and a date histogram over what the query's filters match. */
export async function incidentFacets({ client, names, timeout, queryBudgetMs }: ReadContext, query: IncidentQuery): Promise<IncidentFacets> {
  const filter = filters(query);
  const search = async (aggs: Record<string, estypes.AggregationsAggregationContainer>) => {
    const res = await client.search<IncidentSource>(
      {
        index: names.incidentsAlias,
        ignore_unavailable: true,
        allow_no_indices: true,
        track_total_hits: true,
        size: 0,
        timeout: `${queryBudgetMs}ms`,
        query: { bool: { filter } },
        aggs,
      },
      timeout,
    );
    if (res.timed_out) throw queryTimeout('facets', queryBudgetMs);
    return res;
  };
  const dateHistogram = (range: HistogramRange): estypes.AggregationsAggregationContainer => ({
    date_histogram: {
      field: 'event.end',
      fixed_interval: `${range.bucketMs}ms`,
      // Buckets start at `from`, not at multiples of the interval since the epoch.
      offset: `+${((range.from % range.bucketMs) + range.bucketMs) % range.bucketMs}ms`,
      min_doc_count: 1,
      hard_bounds: { min: range.from, max: range.from + HISTOGRAM_BUCKETS * range.bucketMs - 1 },
    },
  });
  // A query with both `since` and `until` has its histogram's range already: one request does all.
  const knownRange = histogramRange(query, undefined);
  // Count descending, then value ascending (the order IncidentFacets promises).
  const terms = (field: string): estypes.AggregationsAggregationContainer => ({
    terms: { field, size: FACET_SIZE, order: [{ _count: 'desc' }, { _key: 'asc' }] },
  });
  const counts = (agg: estypes.AggregationsAggregate | undefined): FacetCount[] =>
    ((agg as estypes.AggregationsStringTermsAggregate | undefined)?.buckets as estypes.AggregationsStringTermsBucket[] | undefined)?.map((b) => ({
      value: String(b.key),
      count: b.doc_count,
    })) ?? [];
  const res = await search({
    kb: terms('rule.id'),
    host: terms('host.name'),
    severity: terms('fineprint.severity'),
    status: terms('fineprint.status'),
    container: terms('container.name'),
    min: { min: { field: 'event.end' } },
    max: { max: { field: 'event.end' } },
    ...(knownRange ? { histogram: dateHistogram(knownRange) } : {}),
  });
  const aggs = res.aggregations ?? {};
  const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
  const min = (aggs.min as estypes.AggregationsMinAggregate | undefined)?.value;
  const max = (aggs.max as estypes.AggregationsMaxAggregate | undefined)?.value;
  const range = histogramRange(query, total > 0 && typeof min === 'number' && typeof max === 'number' ? { min, max } : undefined);
  let buckets: { index: number; count: number }[] = [];
  if (range) {
    const histogram = knownRange ? res : await search({ histogram: dateHistogram(range) });
    const agg = histogram.aggregations?.histogram as estypes.AggregationsDateHistogramAggregate | undefined;
    buckets = ((agg?.buckets ?? []) as estypes.AggregationsDateHistogramBucket[]).map((b) => ({
      index: Math.round((Number(b.key) - range.from) / range.bucketMs),
      count: b.doc_count,
    }));
  }
  return {
    total,
    kb: counts(aggs.kb),
    host: counts(aggs.host),
    severity: counts(aggs.severity),
    status: counts(aggs.status),
    container: counts(aggs.container),
    histogram: histogramOf(range, buckets),
  };
}
