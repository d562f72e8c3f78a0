import type { Client, estypes } from '@elastic/elasticsearch';
import { severityRank, type Severity } from '../../kb/schema.js';
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
} from '../../risk.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { FACET_SIZE, type FacetCount } from '../index.js';
import { unavailable } from './requests.js';

/*
 * Risks of the Elasticsearch store: one document per (host, container, KB entry) in `P-risks`, its
 * id the risk id, so rewriting a finding overwrites it. The posture is small (tens of findings per
 * host): a batch reads the current documents of the subjects it touches, applies its records in
 * order in memory, writes the difference in one bulk and refreshes, so the next batch (and every
 * search) sees it. One writer per subject at a time: the risks topic is keyed by host + container.
 */

/** A risk document. `container_id` is '' for the daemon's findings; `subject` is host/container_id. */
interface RiskSource {
  risk_id: string;
  host: string;
  container_id: string;
  container_name?: string;
  container_image?: string;
  subject: string;
  kb_id: string;
  severity: Severity;
  rank: number;
  weight: number;
  message: string;
  fix: string;
  first_seen: number;
  last_seen: number;
}

const keyword = { type: 'keyword' } as const;
/** Documents one posture read loads at most (a host has tens of findings; the fleet's touched subjects far fewer than this). */
const MAX_READ = 10_000;

function riskMappings(): estypes.MappingTypeMapping {
  return {
    dynamic: 'strict',
    properties: {
      risk_id: keyword,
      host: keyword,
      container_id: keyword,
      container_name: keyword,
      container_image: { type: 'keyword', index: false },
      subject: keyword,
      kb_id: keyword,
      severity: keyword,
      rank: { type: 'short' },
      weight: { type: 'long' },
      message: { type: 'text', index: false },
      fix: { type: 'text', index: false },
      first_seen: { type: 'long' },
      last_seen: { type: 'long' },
    },
  };
}

function toRisk(doc: RiskSource): Risk {
  return {
    id: doc.risk_id,
    host: doc.host,
    container: doc.container_id ? { id: doc.container_id, name: doc.container_name ?? '', image: doc.container_image ?? '' } : null,
    kbId: doc.kb_id,
    severity: doc.severity,
    message: doc.message,
    fix: doc.fix,
    firstSeen: new Date(doc.first_seen).toISOString(),
    lastSeen: new Date(doc.last_seen).toISOString(),
  };
}

const subjectOf = (host: string, containerId: string) => `${host}/${containerId}`;

/** The Elasticsearch store's risks (see RiskStore). */
export class ElasticsearchRiskStore implements RiskStore {
  constructor(
    private readonly client: Client,
    /** The risks index. */
    private readonly index: string,
    private readonly timeout: { requestTimeout: number },
    /** Resolves once the store's indices exist. */
    private readonly ready: () => Promise<void>,
  ) {}

  /** Creates the risks index (idempotent); part of the store's setup. */
  async install(): Promise<void> {
    try {
      await this.client.indices.create(
        { index: this.index, settings: { number_of_shards: 1, auto_expand_replicas: '0-1', refresh_interval: '1s' }, mappings: riskMappings() },
        this.timeout,
      );
    } catch (error) {
      const type = (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
      if (type !== 'resource_already_exists_exception') throw error;
    }
  }

  async applyRisks(records: readonly RiskRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.ready();
    try {
      const subjects = new Set<string>();
      const hosts = new Set<string>();
      for (const r of records) {
        if (r.scope === 'audit') subjects.add(subjectOf(r.host, r.container?.id ?? ''));
        else hosts.add(r.host);
      }
      const should: estypes.QueryDslQueryContainer[] = [{ terms: { subject: [...subjects] } }];
      if (hosts.size > 0) should.push({ terms: { host: [...hosts] } });
      const found = await this.client.search<RiskSource>({ index: this.index, size: MAX_READ, query: { bool: { should } } }, this.timeout);
      const before = new Map<string, RiskSource>();
      for (const hit of found.hits.hits) if (hit._source) before.set(hit._source.risk_id, hit._source);
      const after = new Map(before);
      for (const record of records) applyRecord(after, record);

      const operations: (estypes.BulkOperationContainer | RiskSource)[] = [];
      for (const [id, doc] of after) {
        const old = before.get(id);
        if (!old || JSON.stringify(old) !== JSON.stringify(doc)) operations.push({ index: { _index: this.index, _id: id } }, doc);
      }
      for (const id of before.keys()) if (!after.has(id)) operations.push({ delete: { _index: this.index, _id: id } });
      if (operations.length === 0) return;
      const res = await this.client.bulk<RiskSource>({ operations, refresh: true }, this.timeout);
      const failure = res.errors ? res.items.find((item) => Object.values(item)[0]?.error) : undefined;
      if (failure) throw new Error(`bulk write: ${JSON.stringify(Object.values(failure)[0]?.error)}`);
    } catch (error) {
      throw unavailable('writing risks', error);
    }
  }

  private filter(query: RiskQuery): estypes.QueryDslQueryContainer {
    const filter: estypes.QueryDslQueryContainer[] = [];
    if (query.host !== undefined) filter.push({ term: { host: query.host } });
    if (query.kbId !== undefined) filter.push({ term: { kb_id: query.kbId } });
    if (query.severity !== undefined) filter.push({ term: { severity: query.severity } });
    if (query.container !== undefined) {
      if (query.container === DAEMON_FILTER) filter.push({ term: { container_id: '' } });
      else if (isContainerIdPrefix(query.container)) {
        filter.push({ bool: { should: [{ term: { container_name: query.container } }, { prefix: { container_id: query.container } }], minimum_should_match: 1 } });
      } else filter.push({ term: { container_name: query.container } });
    }
    return { bool: { filter } };
  }

  async searchRisks(query: RiskQuery): Promise<RiskPage> {
    await this.ready();
    try {
      const res = await this.client.search<RiskSource>(
        {
          index: this.index,
          size: query.limit + 1,
          query: this.filter(query),
          sort: [{ rank: 'desc' }, { risk_id: 'asc' }],
          ...(query.cursor ? { search_after: decodeCursor(query.cursor) } : {}),
        },
        this.timeout,
      );
      const docs = res.hits.hits.flatMap((h) => (h._source ? [h._source] : []));
      const page = docs.slice(0, query.limit);
      const last = page.at(-1);
      return { risks: page.map(toRisk), nextCursor: docs.length > query.limit && last ? encodeCursor(last.rank, last.risk_id) : null };
    } catch (error) {
      throw unavailable('searching risks', error);
    }
  }

  async riskFacets(query: RiskQuery): Promise<RiskFacets> {
    await this.ready();
    const terms = (field: string) => ({ terms: { field, size: FACET_SIZE, order: [{ _count: 'desc' as const }, { _key: 'asc' as const }] } });
    try {
      const res = await this.client.search(
        {
          index: this.index,
          size: 0,
          track_total_hits: true,
          query: this.filter(query),
          aggs: { kbId: terms('kb_id'), host: terms('host'), severity: terms('severity'), container: terms('container_name') },
        },
        this.timeout,
      );
      const buckets = (name: string): FacetCount[] =>
        ((res.aggregations?.[name] as estypes.AggregationsStringTermsAggregate | undefined)?.buckets as estypes.AggregationsStringTermsBucket[] | undefined ?? []).map((b) => ({
          value: String(b.key),
          count: b.doc_count,
        }));
      const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
      return { total, kbId: buckets('kbId'), host: buckets('host'), severity: buckets('severity'), container: buckets('container') };
    } catch (error) {
      throw unavailable('risk facets', error);
    }
  }

  async riskSummary(): Promise<RiskSummary> {
    await this.ready();
    const bySeverityAgg = { terms: { field: 'severity', size: 10 } };
    try {
      const res = await this.client.search(
        {
          index: this.index,
          size: 0,
          aggs: {
            kb: { terms: { field: 'kb_id', size: 1000 }, aggs: { severity: bySeverityAgg } },
            severity: bySeverityAgg,
            containers: {
              filter: { bool: { must_not: [{ term: { container_id: '' } }] } },
              aggs: {
                worst: {
                  terms: { field: 'subject', size: WORST_CONTAINERS, order: [{ weight: 'desc' }, { _key: 'asc' }] },
                  aggs: {
                    weight: { sum: { field: 'weight' } },
                    severity: bySeverityAgg,
                    sample: { top_hits: { size: 1, _source: ['host', 'container_id', 'container_name', 'container_image'] } },
                  },
                },
              },
            },
          },
        },
        this.timeout,
      );
      type Bucket = estypes.AggregationsStringTermsBucket & Record<string, unknown>;
      const bucketsOf = (agg: unknown): Bucket[] => ((agg as { buckets?: Bucket[] } | undefined)?.buckets ?? []);
      const counts = (agg: unknown): SeverityCounts => {
        const out = emptySeverityCounts();
        for (const b of bucketsOf(agg)) out[String(b.key) as Severity] = b.doc_count;
        return out;
      };
      const aggs = res.aggregations ?? {};
      const bySeverity = counts(aggs.severity);
      const byKb = bucketsOf(aggs.kb)
        .map((b) => ({ kbId: String(b.key), total: b.doc_count, bySeverity: counts(b.severity) }))
        .sort((a, b) => b.total - a.total || a.kbId.localeCompare(b.kbId));
      const worst = bucketsOf((aggs.containers as Record<string, unknown> | undefined)?.worst);
      const worstContainers = worst.map((b) => {
        const sample = (b.sample as estypes.AggregationsTopHitsAggregate).hits.hits[0]?._source as Partial<RiskSource> | undefined;
        const bySev = counts(b.severity);
        return {
          host: sample?.host ?? '',
          container: { id: sample?.container_id ?? '', name: sample?.container_name ?? '', image: sample?.container_image ?? '' },
          total: severityTotal(bySev),
          bySeverity: bySev,
        };
      });
      return { total: severityTotal(bySeverity), bySeverity, byKb, worstContainers };
    } catch (error) {
      throw unavailable('risk summary', error);
    }
  }
}

/**
 * Applies one record to the posture (by risk id): a container's findings replace its previous ones;
 * a list of present containers drops the risks of those not in it that were seen before it.
 */
function applyRecord(posture: Map<string, RiskSource>, record: RiskRecord): void {
  if (record.scope === 'present') {
    const present = new Set(record.containers);
    for (const [id, doc] of posture) {
      if (doc.host === record.host && doc.container_id !== '' && !present.has(doc.container_id) && doc.last_seen < record.observedAt) posture.delete(id);
    }
    return;
  }
  const containerId = record.container?.id ?? '';
  const subject = subjectOf(record.host, containerId);
  const keep = new Set<string>();
  for (const finding of findingsByKb(record.findings)) {
    const id = riskId(record.host, record.container?.id ?? null, finding.kbId);
    keep.add(id);
    const old = posture.get(id);
    posture.set(id, {
      risk_id: id,
      host: record.host,
      container_id: containerId,
      ...(record.container ? { container_name: record.container.name, container_image: record.container.image } : {}),
      subject,
      kb_id: finding.kbId,
      severity: finding.severity,
      rank: severityRank(finding.severity),
      weight: severityWeight(finding.severity),
      message: finding.message,
      fix: finding.fix,
      first_seen: Math.min(old?.first_seen ?? record.observedAt, record.observedAt),
      last_seen: Math.max(old?.last_seen ?? record.observedAt, record.observedAt),
    });
  }
  for (const [id, doc] of posture) if (doc.subject === subject && !keep.has(id)) posture.delete(id);
}

/**
 * Risk incidents filed by earlier versions (fingerprint `risk:...`) are deleted with their evidence
 * and heads: the audit at the collector's start rebuilds the posture from the live containers.
 */
export async function dropRiskIncidents(client: Client, names: { incidentsAlias: string; evidenceAlias: string; heads: string }, timeout: { requestTimeout: number }): Promise<void> {
  const targets: [string, string][] = [
    [names.incidentsAlias, 'fineprint.fingerprint'],
    [names.evidenceAlias, 'fineprint.fingerprint'],
    [names.heads, 'fingerprint'],
  ];
  for (const [index, field] of targets) {
    await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true }, timeout);
    for (;;) {
      const res = await client.search({ index, ignore_unavailable: true, allow_no_indices: true, size: 1000, _source: false, query: { prefix: { [field]: 'risk:' } } }, timeout);
      const hits = res.hits.hits;
      if (hits.length === 0) break;
      await client.bulk({ operations: hits.map((h) => ({ delete: { _index: h._index, _id: h._id ?? '' } })), refresh: true }, timeout);
    }
  }
}
