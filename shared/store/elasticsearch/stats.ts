import type { estypes } from '@elastic/elasticsearch';
import type { FacetCount } from '../index.js';
import { meanOf, STATS_BREAKDOWN_SIZE, STATS_OFFENDERS, statsRange, type IncidentStats, type StatsQuery } from '../stats.js';
import type { IncidentSource } from './mappings.js';
import type { StoreContext } from './requests.js';

/** Count descending, then value ascending (the order the stats promise). */
const terms = (field: string, size = STATS_BREAKDOWN_SIZE): estypes.AggregationsAggregationContainer => ({
  terms: { field, size, order: [{ _count: 'desc' }, { _key: 'asc' }] },
});

/**
 * The mean of `field - event.start` over the incidents that have `field`, without scripts: the
 * difference of the two averages (exact to well under a millisecond for epoch-ms dates).
 */
const meanSince = (field: string): estypes.AggregationsAggregationContainer => ({
  filter: { exists: { field } },
  aggs: { at: { avg: { field } }, start: { avg: { field: 'event.start' } } },
});

type Buckets = { buckets?: estypes.AggregationsStringTermsBucket[] } | undefined;
type MeanAggregate = { doc_count: number; at?: { value: number | null }; start?: { value: number | null } } | undefined;

const counts = (agg: unknown): FacetCount[] => ((agg as Buckets)?.buckets ?? []).map((b) => ({ value: String(b.key), count: b.doc_count }));

function mean(agg: unknown): IncidentStats['timeToAcknowledge'] {
  const m = agg as MeanAggregate;
  const n = m?.doc_count ?? 0;
  const at = m?.at?.value;
  const start = m?.start?.value;
  return meanOf(typeof at === 'number' && typeof start === 'number' ? (at - start) * n : null, n);
}

/** The stats of the incidents first seen in a range: one search of aggregations only. */
export async function incidentStats({ client, names, timeout }: StoreContext, query: StatsQuery, now: number): Promise<IncidentStats> {
  const { from, to } = statsRange(query, now);
  const res = await client.search<IncidentSource>(
    {
      index: names.incidentsAlias,
      ignore_unavailable: true,
      allow_no_indices: true,
      track_total_hits: true,
      size: 0,
      query: { bool: { filter: [{ range: { 'event.start': { gte: from, lte: to, format: 'epoch_millis' } } }] } },
      aggs: {
        kb: terms('rule.id'),
        image: terms('container.image.name'),
        host: terms('host.name'),
        acknowledged: meanSince('fineprint.acknowledged_at'),
        resolved: meanSince('fineprint.resolved_at'),
        offenders: {
          terms: { field: 'container.name', size: STATS_OFFENDERS, order: [{ occurrences: 'desc' }, { _count: 'desc' }, { _key: 'asc' }] },
          aggs: {
            occurrences: { sum: { field: 'fineprint.count' } },
            latest: { top_hits: { size: 1, sort: [{ 'event.end': { order: 'desc' } }], _source: ['container.image.name'] } },
          },
        },
      },
    },
    timeout,
  );
  const aggs = res.aggregations ?? {};
  const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
  type OffenderBucket = estypes.AggregationsStringTermsBucket & { occurrences: { value: number }; latest: estypes.AggregationsTopHitsAggregate };
  const offenders = (((aggs.offenders as Buckets)?.buckets ?? []) as OffenderBucket[]).map((b) => {
    const image = (b.latest.hits.hits[0]?._source as IncidentSource | undefined)?.container?.image.name;
    return { container: String(b.key), image: image || null, incidents: b.doc_count, occurrences: Math.round(b.occurrences.value) };
  });
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    total,
    kb: counts(aggs.kb),
    image: counts(aggs.image).filter((c) => c.value !== ''),
    host: counts(aggs.host),
    timeToAcknowledge: mean(aggs.acknowledged),
    timeToResolve: mean(aggs.resolved),
    offenders,
  };
}
