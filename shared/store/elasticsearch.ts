import { createHash } from 'node:crypto';
import { Client, type estypes } from '@elastic/elasticsearch';
import { FineprintError } from '../errors.js';
import type { ContainerFacts } from '../event.js';
import type { Evidence, Incident, IncidentDetail, IncidentStatus, IncidentUpdate, LifecycleMark } from '../incident.js';
import type { KnowledgeBase } from '../kb/load.js';
import type { Severity } from '../kb/schema.js';
import { Silence } from '../silence.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { dropRiskIncidents, ElasticsearchRiskStore } from './risks-elasticsearch.js';
import { DEFAULT_REOPEN_WINDOW_MS, type ActiveOccurrence, type IncidentPage, type IncidentQuery, type IncidentStore, type LifecycleOptions, type ResolveMark } from './index.js';
import { FACET_SIZE, HISTOGRAM_BUCKETS, histogramOf, histogramRange, type FacetCount, type HistogramRange, type IncidentFacets } from './index.js';
import { QUERY_BUDGET_MS, queryTimeout, searchTerms, words, type QueryBudgetOptions } from './search-terms.js';

/*
 * The distributed incident store, with exactly the contract of the embedded SQLite store.
 *
 * Indices (P = indexPrefix):
 * - `P-incidents-YYYY.MM`: one document per incident, in the month of its first evidence (fixed
 *   when the incident is created). Every month joins the read alias `P-incidents` through the index
 *   template, so search and get(id) see all months.
 * - `P-evidence-YYYY.MM`: one document per (fingerprint, event id), in the month of the event;
 *   its id is a hash of both, so a replayed event overwrites itself instead of adding a duplicate.
 *   Read alias `P-evidence`.
 * - `P-heads`: one small document per fingerprint naming its latest incident and that incident's
 *   index, read with realtime GETs: the write path never depends on a refresh. A new occurrence
 *   re-opens a resolved latest incident within the re-open window, else starts a new one.
 * - `P-silences`: one document per silence.
 *
 * An incident's count, firstSeen and lastSeen derive from the set of its occurrences (id, first and
 * last evidence time) kept in its own document: merging a signal into it is idempotent and
 * commutative, so an update that is retried after a partial failure, or replayed from Kafka, changes
 * nothing the second time. Documents change with optimistic concurrency (if_seq_no/if_primary_term,
 * re-read and re-merge on a version conflict); no scripts, no update_by_query, no ingest pipelines:
 * Elasticsearch's integ-test distribution has none of them, and they are not needed.
 *
 * Write order per batch: heads of new incidents, then evidence, then incidents. A crash between
 * any two leaves a state that the replay completes: a head always names the incident that its
 * fingerprint's next signals go to, even before that incident's document exists.
 */

/** Bumped when the index templates change incompatibly. */
const SCHEMA_VERSION = 1;
/** The store's documents are ECS where a field exists; `event.severity` is numeric there. */
const SEVERITY_NUMBER: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
/** Version conflicts are retried this often before the store gives up (another writer keeps winning). */
const MAX_CONFLICT_RETRIES = 8;
/** An occurrence has a handful of evidence (an oom event, its kernel lines, a die); moves read at most this many. */
const MAX_MOVED_EVIDENCE = 10_000;
const EVIDENCE_PER_INCIDENT = 100;

export interface ElasticsearchStoreOptions extends LifecycleOptions, QueryBudgetOptions {
  /** A client to use (and not close); or `url` to make one. */
  client?: Client;
  /** Elasticsearch URL, e.g. http://127.0.0.1:19200 (FINEPRINT_ELASTICSEARCH_URL). */
  url?: string;
  /** The knowledge base, whose entry texts are searchable with each incident. */
  kb: KnowledgeBase;
  /** Names every index, alias and template of this store (lowercase). Default `fineprint`. */
  indexPrefix?: string;
  /** Timeout of each request in ms. Default 10 000: a bulk of a few hundred documents takes well under 1 s. */
  requestTimeoutMs?: number;
}

interface OccurrenceSpan {
  /** Occurrence id. */
  id: string;
  /** First and last evidence time of the occurrence in this incident (ms). */
  first: number;
  last: number;
}

/** An incident document (`P-incidents-*`). */
interface IncidentSource {
  '@timestamp': string;
  message: string;
  event: { kind: 'alert'; module: 'fineprint'; dataset: 'fineprint.incident'; start: string; end: string; severity: number };
  host: { name: string };
  container?: { id: string; name: string; image: { name: string } };
  rule: { id: string; name: string };
  fineprint: {
    schema: number;
    incident_id: string;
    fingerprint: string;
    status: IncidentStatus;
    severity: Severity;
    count: number;
    compose?: { project?: string; service?: string };
    facts?: ContainerFacts;
    acknowledged?: LifecycleMark;
    resolved?: ResolveMark;
    /** When it was resolved, for the re-open window (absent while unresolved). */
    resolved_at?: string;
    /** Times a recurrence re-opened it. */
    reopened?: number;
    /** Last change of anything on the incident (absent on documents written before lifecycles). */
    updated_at?: string;
    occurrences: OccurrenceSpan[];
    /** Lowercased words of title, message, container, image and KB text: what `q` matches. */
    search_terms: string[];
  };
}

/** An evidence document (`P-evidence-*`). */
interface EvidenceSource {
  '@timestamp': string;
  message: string;
  event: { id: string; kind: 'event'; provider: string; action?: string };
  process?: { exit_code: number };
  fineprint: { fingerprint: string; incident_id: string; occurrence_id: string; detector: string; kind: string; evidence: Evidence };
}

/** A head document (`P-heads`): the fingerprint's current incident. */
interface HeadSource {
  fingerprint: string;
  incident_id: string;
  /** The concrete index of that incident. */
  index: string;
}

interface Versioned<T> {
  source: T;
  seqNo: number;
  primaryTerm: number;
}

type StoredHead = Versioned<HeadSource> & { id: string };

interface CurrentIncident {
  incidentId: string;
  index: string;
  /** The head document as read (absent for an incident this batch creates). */
  head?: StoredHead;
  /** The incident document as read (absent until its first write). */
  doc?: Versioned<IncidentSource>;
}

/** Changes one incident; gets undefined when the incident does not exist yet. Must be idempotent. */
type Mutation = (doc: IncidentSource | undefined) => IncidentSource | undefined;

interface IncidentWrite {
  id: string;
  index: string;
  mutations: Mutation[];
  /** When the incident ends up with no occurrence, delete it and then this head (if still unchanged). */
  head?: StoredHead;
}

type SignalUpdate = Extract<IncidentUpdate, { op: 'signal' }>;
type RetractUpdate = Extract<IncidentUpdate, { op: 'retract' }>;

const keyword = { type: 'keyword' } as const;
const date = { type: 'date' } as const;
const opaque = { type: 'object', enabled: false } as const;

function incidentMappings(): estypes.MappingTypeMapping {
  return {
    dynamic: 'strict',
    _meta: { fineprint_schema: SCHEMA_VERSION },
    properties: {
      '@timestamp': date,
      message: { type: 'text' },
      event: {
        properties: { kind: keyword, module: keyword, dataset: keyword, start: date, end: date, severity: { type: 'short' } },
      },
      host: { properties: { name: keyword } },
      container: { properties: { id: keyword, name: keyword, image: { properties: { name: keyword } } } },
      rule: { properties: { id: keyword, name: { type: 'keyword', fields: { text: { type: 'text' } } } } },
      fineprint: {
        properties: {
          schema: { type: 'short' },
          incident_id: keyword,
          fingerprint: keyword,
          status: keyword,
          severity: keyword,
          count: { type: 'integer' },
          compose: { properties: { project: keyword, service: keyword } },
          facts: opaque,
          acknowledged: opaque,
          resolved: opaque,
          resolved_at: date,
          reopened: { type: 'integer' },
          updated_at: date,
          occurrences: opaque,
          search_terms: { type: 'keyword', ignore_above: 256 },
        },
      },
    },
  };
}

function evidenceMappings(): estypes.MappingTypeMapping {
  return {
    dynamic: 'strict',
    _meta: { fineprint_schema: SCHEMA_VERSION },
    properties: {
      '@timestamp': date,
      message: { type: 'text' },
      event: { properties: { id: keyword, kind: keyword, provider: keyword, action: keyword } },
      process: { properties: { exit_code: { type: 'long' } } },
      fineprint: {
        properties: {
          fingerprint: keyword,
          incident_id: keyword,
          occurrence_id: keyword,
          detector: keyword,
          kind: keyword,
          evidence: opaque,
        },
      },
    },
  };
}

function headMappings(): estypes.MappingTypeMapping {
  return { dynamic: 'strict', properties: { fingerprint: keyword, incident_id: keyword, index: { type: 'keyword', index: false } } };
}

/** Settings of every index: explicit refresh (an unsearched index otherwise stops refreshing after 30 s). */
const INDEX_SETTINGS: estypes.IndicesIndexSettings = {
  number_of_shards: 1,
  // One replica where there is a second node to hold it; none on a single node (stays green).
  auto_expand_replicas: '0-1',
  refresh_interval: '1s',
};

/** Stable, index-safe document id. */
function docId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url');
}

function month(ts: number): string {
  const d = new Date(ts);
  return `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

function iso(ts: number): string {
  return new Date(ts).toISOString();
}

function isNotFound(error: unknown): boolean {
  return (error as { meta?: { statusCode?: number } }).meta?.statusCode === 404;
}

function unavailable(what: string, error: unknown): FineprintError {
  if (error instanceof FineprintError) return error;
  const reason = (error as { meta?: { body?: { error?: { reason?: string } } } }).meta?.body?.error?.reason;
  return new FineprintError('FP_STORE_UNAVAILABLE', `${what} failed: ${reason ?? (error as Error).message}`, undefined, { cause: error });
}

function toIncident(doc: IncidentSource): Incident {
  const f = doc.fineprint;
  return {
    id: f.incident_id,
    fingerprint: f.fingerprint,
    kbId: doc.rule.id,
    title: doc.rule.name,
    severity: f.severity,
    status: f.status,
    host: doc.host.name,
    container: doc.container ? { id: doc.container.id, name: doc.container.name, image: doc.container.image.name } : null,
    compose: f.compose?.project && f.compose.service ? { project: f.compose.project, service: f.compose.service } : null,
    count: f.count,
    firstSeen: doc.event.start,
    lastSeen: doc.event.end,
    message: doc.message,
    acknowledged: f.acknowledged ?? null,
    resolved: f.resolved ?? null,
    reopened: f.reopened ?? 0,
    updatedAt: f.updated_at ?? doc.event.end,
  };
}

/** Lifecycle changes, as mutations: each leaves a document in another state as it is. */
const acknowledgeMutation =
  (mark: LifecycleMark): Mutation =>
  (doc) => {
    if (doc?.fineprint.status === 'open') {
      doc.fineprint.status = 'acknowledged';
      doc.fineprint.acknowledged = mark;
    }
    return doc;
  };

const resolveMutation =
  (mark: ResolveMark): Mutation =>
  (doc) => {
    if (doc && doc.fineprint.status !== 'resolved') {
      doc.fineprint.status = 'resolved';
      doc.fineprint.resolved = mark;
      doc.fineprint.resolved_at = mark.at;
    }
    return doc;
  };

function lastSeenOf(doc: IncidentSource): number {
  return doc.fineprint.occurrences.reduce((max, o) => Math.max(max, o.last), Number.NEGATIVE_INFINITY);
}

/** Adds evidence time `ts` to occurrence `id` (idempotent). */
function mergeOccurrence(doc: IncidentSource, id: string, first: number, last: number): void {
  const span = doc.fineprint.occurrences.find((o) => o.id === id);
  if (span) {
    span.first = Math.min(span.first, first);
    span.last = Math.max(span.last, last);
  } else {
    doc.fineprint.occurrences.push({ id, first, last });
  }
}

/**
 * `ElasticsearchIncidentStore` keeps incidents in Elasticsearch for the fleet tier. Safe for one
 * writer per fingerprint at a time (the classifier group's partitioning gives that) and any number
 * of readers; concurrent writers of one incident are serialized by optimistic concurrency.
 */
export class ElasticsearchIncidentStore implements IncidentStore {
  private readonly client: Client;
  private readonly ownsClient: boolean;
  private readonly kbText: Map<string, string>;
  private readonly prefix: string;
  private readonly timeout: { requestTimeout: number };
  private readonly reopenWindowMs: number;
  /** Search and facets: Elasticsearch's own `timeout`, reported as FP_QUERY_TIMEOUT. */
  private readonly queryBudgetMs: number;
  private setup: Promise<void> | undefined;
  readonly risks: ElasticsearchRiskStore;

  constructor(options: ElasticsearchStoreOptions) {
    const prefix = options.indexPrefix ?? 'fineprint';
    if (!/^[a-z0-9][a-z0-9_.-]{0,100}$/.test(prefix)) {
      throw new FineprintError('FP_CONFIG_INVALID', `indexPrefix: "${prefix}" is not a valid index name prefix (lowercase letters, digits, . _ -)`);
    }
    this.prefix = prefix;
    this.reopenWindowMs = options.reopenWindowMs ?? DEFAULT_REOPEN_WINDOW_MS;
    this.queryBudgetMs = options.queryBudgetMs ?? QUERY_BUDGET_MS;
    const requestTimeout = options.requestTimeoutMs ?? 10_000;
    this.timeout = { requestTimeout };
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else if (options.url) {
      this.client = new Client({ node: options.url, requestTimeout, maxRetries: 2 });
      this.ownsClient = true;
    } else {
      throw new FineprintError('FP_CONFIG_INVALID', 'the Elasticsearch store needs a client or a url');
    }
    this.kbText = new Map(options.kb.entries.map((e) => [e.id, [e.title, e.why, ...e.fix].join('\n')]));
    this.risks = new ElasticsearchRiskStore(this.client, this.names.risks, this.timeout, () => this.init());
  }

  /** Index and alias names, for tools and tests. */
  get names() {
    const p = this.prefix;
    return {
      incidentsAlias: `${p}-incidents`,
      evidenceAlias: `${p}-evidence`,
      heads: `${p}-heads`,
      silences: `${p}-silences`,
      risks: `${p}-risks`,
      incidentIndex: (ts: number) => `${p}-incidents-${month(ts)}`,
      evidenceIndex: (ts: number) => `${p}-evidence-${month(ts)}`,
    };
  }

  /** Installs the index templates and the heads index (idempotent). Called by the first request too. */
  init(): Promise<void> {
    this.setup ??= this.install().catch((error: unknown) => {
      this.setup = undefined;
      throw unavailable('Elasticsearch store setup', error);
    });
    return this.setup;
  }

  private async install(): Promise<void> {
    const n = this.names;
    const template = (alias: string, mappings: estypes.MappingTypeMapping) => ({
      name: alias,
      index_patterns: [`${alias}-*`],
      // Above the built-in templates (priority 100 and lower) so nothing else shapes these indices.
      priority: 500,
      _meta: { description: 'fineprint incident store', fineprint_schema: SCHEMA_VERSION },
      template: { settings: INDEX_SETTINGS, mappings, aliases: { [alias]: {} } },
    });
    await this.client.indices.putIndexTemplate(template(n.incidentsAlias, incidentMappings()), this.timeout);
    await this.client.indices.putIndexTemplate(template(n.evidenceAlias, evidenceMappings()), this.timeout);
    await this.createIndex(n.heads, headMappings());
    await this.createIndex(n.silences, { dynamic: 'strict', properties: { body: opaque } });
    // Months created before a field was added get it too (adding a field is compatible).
    await this.client.indices.putMapping(
      { index: n.incidentsAlias, ignore_unavailable: true, allow_no_indices: true, properties: incidentMappings().properties ?? {} },
      this.timeout,
    );
    await this.risks.install();
    await dropRiskIncidents(this.client, n, this.timeout);
  }

  private async createIndex(index: string, mappings: estypes.MappingTypeMapping): Promise<void> {
    try {
      await this.client.indices.create({ index, settings: INDEX_SETTINGS, mappings }, this.timeout);
    } catch (error) {
      const type = (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
      if (type !== 'resource_already_exists_exception') throw error;
    }
  }

  async apply(updates: IncidentUpdate[]): Promise<Incident[]> {
    if (updates.length === 0) return [];
    await this.init();
    const touched = new Set<string>();
    const changed = new Map<string, Incident>();
    try {
      let signals: SignalUpdate[] = [];
      for (const update of updates) {
        if (update.op === 'signal') {
          signals.push(update);
          continue;
        }
        await this.applySignals(signals, touched, changed);
        signals = [];
        // The move reads evidence by search: what this batch wrote must be visible first.
        await this.refresh(touched);
        await this.applyRetract(update, touched, changed);
      }
      await this.applySignals(signals, touched, changed);
      // Read-after-write: callers (and the API) search right after apply resolves.
      await this.refresh(touched);
    } catch (error) {
      throw unavailable('apply', error);
    }
    return [...changed.values()];
  }

  async acknowledge(id: string, mark: LifecycleMark): Promise<Incident | undefined> {
    return this.mutateOne(id, acknowledgeMutation(mark), 'acknowledge');
  }

  async resolve(id: string, mark: ResolveMark): Promise<Incident | undefined> {
    return this.mutateOne(id, resolveMutation(mark), 'resolve');
  }

  /** Applies a lifecycle mutation to one incident; its current state when the mutation changes nothing. */
  private async mutateOne(id: string, mutation: Mutation, what: string): Promise<Incident | undefined> {
    await this.init();
    try {
      const found = await this.client.search<IncidentSource>(
        { index: this.names.incidentsAlias, ignore_unavailable: true, allow_no_indices: true, size: 1, _source: false, query: { ids: { values: [id] } } },
        this.timeout,
      );
      const index = found.hits.hits[0]?._index;
      if (!index) return undefined;
      const touched = new Set<string>();
      const changed = new Map<string, Incident>();
      await this.writeIncidents([{ id, index, mutations: [mutation] }], touched, changed);
      await this.refresh(touched);
      const written = changed.get(id);
      if (written) return written;
      const stored = (await this.readIncidents([{ index, id }])).get(id);
      return stored ? toIncident(stored.source) : undefined;
    } catch (error) {
      throw unavailable(what, error);
    }
  }

  async resolveQuiet(now: number, quietMs: (kbId: string) => number): Promise<Incident[]> {
    await this.init();
    const mark: ResolveMark = { by: 'fineprint', at: iso(now), comment: 'quiet period elapsed', auto: true };
    const changed = new Map<string, Incident>();
    try {
      // Unresolved incidents are few (resolved ones are the history): each is checked against its entry's period.
      const res = await this.client.search<IncidentSource>(
        {
          index: this.names.incidentsAlias,
          ignore_unavailable: true,
          allow_no_indices: true,
          size: 10_000,
          _source: ['rule.id', 'event.end', 'fineprint.incident_id'],
          query: { bool: { must_not: [{ term: { 'fineprint.status': 'resolved' } }] } },
        },
        this.timeout,
      );
      const writes: IncidentWrite[] = res.hits.hits.flatMap((hit) => {
        const doc = hit._source;
        if (!doc || Date.parse(doc.event.end) >= now - quietMs(doc.rule.id)) return [];
        return [{ id: doc.fineprint.incident_id, index: hit._index, mutations: [resolveMutation(mark)] }];
      });
      const touched = new Set<string>();
      await this.writeIncidents(writes, touched, changed);
      await this.refresh(touched);
    } catch (error) {
      throw unavailable('resolveQuiet', error);
    }
    return [...changed.values()];
  }

  async putSilence(silence: Silence): Promise<void> {
    await this.init();
    try {
      await this.client.index({ index: this.names.silences, id: silence.id, document: { body: silence }, refresh: true }, this.timeout);
    } catch (error) {
      throw unavailable('putSilence', error);
    }
  }

  async silences(): Promise<Silence[]> {
    await this.init();
    try {
      const res = await this.client.search<{ body: unknown }>({ index: this.names.silences, size: 10_000, query: { match_all: {} } }, this.timeout);
      return res.hits.hits.flatMap((h) => {
        const parsed = Silence.safeParse(h._source?.body);
        return parsed.success ? [parsed.data] : [];
      });
    } catch (error) {
      throw unavailable('silences', error);
    }
  }

  async deleteSilence(id: string): Promise<boolean> {
    await this.init();
    try {
      await this.client.delete({ index: this.names.silences, id, refresh: true }, this.timeout);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw unavailable('deleteSilence', error);
    }
  }

  private async refresh(indices: Set<string>): Promise<void> {
    if (indices.size === 0) return;
    await this.client.indices.refresh({ index: [...indices], ignore_unavailable: true }, this.timeout);
  }

  /** Realtime reads of the heads of these fingerprints. */
  private async readHeads(fingerprints: string[]): Promise<Map<string, StoredHead>> {
    const heads = new Map<string, StoredHead>();
    if (fingerprints.length === 0) return heads;
    const res = await this.client.mget<HeadSource>({ index: this.names.heads, ids: fingerprints.map((fp) => docId(fp)), realtime: true }, this.timeout);
    for (const doc of res.docs) {
      if ('found' in doc && doc.found && doc._source && doc._seq_no !== undefined && doc._primary_term !== undefined) {
        heads.set(doc._source.fingerprint, { id: doc._id, source: doc._source, seqNo: doc._seq_no, primaryTerm: doc._primary_term });
      }
    }
    return heads;
  }

  /** Realtime reads of incidents by (index, id); a missing index counts as a missing document. */
  private async readIncidents(refs: { index: string; id: string }[]): Promise<Map<string, Versioned<IncidentSource>>> {
    const found = new Map<string, Versioned<IncidentSource>>();
    if (refs.length === 0) return found;
    const res = await this.client.mget<IncidentSource>({ docs: refs.map((r) => ({ _index: r.index, _id: r.id })), realtime: true }, this.timeout);
    for (const doc of res.docs) {
      if ('found' in doc && doc.found && doc._source && doc._seq_no !== undefined && doc._primary_term !== undefined) {
        found.set(doc._id, { source: doc._source, seqNo: doc._seq_no, primaryTerm: doc._primary_term });
      }
    }
    return found;
  }

  /**
   * The current incident of each fingerprint: the head's, unless that incident was resolved longer
   * than the re-open window before `firstTs` (the fingerprint's earliest signal; without it,
   * unless resolved at all). A head whose incident document does not exist yet still counts (a
   * crash between the two writes). Heads of incidents too long resolved are returned apart: a new
   * incident replaces them with a versioned write.
   */
  private async currentIncidents(
    fingerprints: string[],
    firstTs?: Map<string, number>,
  ): Promise<{ current: Map<string, CurrentIncident>; resolved: Map<string, StoredHead> }> {
    const heads = await this.readHeads(fingerprints);
    const docs = await this.readIncidents([...heads.values()].map((h) => ({ index: h.source.index, id: h.source.incident_id })));
    const current = new Map<string, CurrentIncident>();
    const resolved = new Map<string, StoredHead>();
    for (const [fp, head] of heads) {
      const doc = docs.get(head.source.incident_id);
      const f = doc?.source.fineprint;
      const ts = firstTs?.get(fp);
      const reopenable = f?.status === 'resolved' && ts !== undefined && ts <= Date.parse(f.resolved_at ?? '') + this.reopenWindowMs;
      if (f?.status === 'resolved' && !reopenable) resolved.set(fp, head);
      else current.set(fp, { incidentId: head.source.incident_id, index: head.source.index, head, ...(doc ? { doc } : {}) });
    }
    return { current, resolved };
  }

  private async applySignals(signals: SignalUpdate[], touched: Set<string>, changed: Map<string, Incident>): Promise<void> {
    if (signals.length === 0) return;
    const n = this.names;
    const firstTs = new Map<string, number>();
    for (const signal of signals) firstTs.set(signal.fingerprint, Math.min(firstTs.get(signal.fingerprint) ?? Infinity, signal.evidence.ts));
    const fingerprints = [...firstTs.keys()];
    let current = new Map<string, CurrentIncident>();
    for (let attempt = 0; ; attempt += 1) {
      const found = await this.currentIncidents(fingerprints, firstTs);
      current = found.current;
      // New incidents: their heads are written first, so a replay files into the same incident.
      const operations: (estypes.BulkOperationContainer | HeadSource)[] = [];
      for (const signal of signals) {
        if (current.has(signal.fingerprint)) continue;
        const incident = { incidentId: signal.proposedId, index: n.incidentIndex(signal.evidence.ts) };
        const previous = found.resolved.get(signal.fingerprint);
        const _id = docId(signal.fingerprint);
        operations.push(
          previous ? { index: { _index: n.heads, _id, if_seq_no: previous.seqNo, if_primary_term: previous.primaryTerm } } : { create: { _index: n.heads, _id } },
          { fingerprint: signal.fingerprint, incident_id: incident.incidentId, index: incident.index },
        );
        current.set(signal.fingerprint, incident);
      }
      if (operations.length === 0) break;
      const res = await this.client.bulk({ operations }, this.timeout);
      touched.add(n.heads);
      if (!res.items.some((item) => Object.values(item)[0]?.status === 409)) {
        this.throwOnErrors('heads', res);
        break;
      }
      // Another writer made some of these fingerprints' incidents meanwhile: start over from its heads.
      if (attempt >= MAX_CONFLICT_RETRIES) throw new FineprintError('FP_STORE_UNAVAILABLE', 'heads: still in conflict after retries');
    }

    // Evidence that exists already under another incident (an old event replayed after its
    // incident was resolved) is ignored, as the embedded store ignores it.
    const evidenceRefs = signals.map((s) => ({ index: n.evidenceIndex(s.evidence.ts), id: docId(s.fingerprint, s.evidence.eventId) }));
    const existing = new Map<string, string>();
    const res = await this.client.mget<EvidenceSource>(
      { docs: evidenceRefs.map((r) => ({ _index: r.index, _id: r.id, _source: ['fineprint.incident_id'] })), realtime: true },
      this.timeout,
    );
    for (const doc of res.docs) {
      if ('found' in doc && doc.found && doc._source) existing.set(doc._id, doc._source.fineprint.incident_id);
    }

    const evidenceOps: (estypes.BulkOperationContainer | EvidenceSource)[] = [];
    const writes = new Map<string, IncidentWrite>();
    signals.forEach((signal, i) => {
      const incident = current.get(signal.fingerprint);
      const ref = evidenceRefs[i];
      if (!incident || !ref) return;
      const owner = existing.get(ref.id);
      if (owner !== undefined && owner !== incident.incidentId) return;
      existing.set(ref.id, incident.incidentId);
      evidenceOps.push({ index: { _index: ref.index, _id: ref.id } }, this.evidenceDoc(signal.fingerprint, incident.incidentId, signal.evidence));
      touched.add(ref.index);
      let write = writes.get(incident.incidentId);
      if (!write) {
        write = { id: incident.incidentId, index: incident.index, mutations: [] };
        writes.set(write.id, write);
      }
      write.mutations.push(this.signalMutation(signal, incident.incidentId, owner !== undefined));
    });
    if (evidenceOps.length > 0) {
      this.throwOnErrors('evidence', await this.client.bulk({ operations: evidenceOps }, this.timeout));
    }
    await this.writeIncidents([...writes.values()], touched, changed);
  }

  private evidenceDoc(fingerprint: string, incidentId: string, evidence: Evidence): EvidenceSource {
    return {
      '@timestamp': iso(evidence.ts),
      message: evidence.message,
      event: { id: evidence.eventId, kind: 'event', provider: evidence.source, ...(evidence.action ? { action: evidence.action } : {}) },
      ...(evidence.exitCode !== undefined ? { process: { exit_code: evidence.exitCode } } : {}),
      fineprint: {
        fingerprint,
        incident_id: incidentId,
        occurrence_id: evidence.occurrenceId,
        detector: evidence.detector,
        kind: evidence.kind,
        evidence,
      },
    };
  }

  /** What one signal does to its incident, as the embedded store's insert + touch + recount. */
  private signalMutation(signal: SignalUpdate, incidentId: string, replayed: boolean): Mutation {
    const { evidence } = signal;
    return (existing) => {
      const doc: IncidentSource = existing ?? {
        '@timestamp': iso(evidence.ts),
        message: evidence.message,
        event: { kind: 'alert', module: 'fineprint', dataset: 'fineprint.incident', start: iso(evidence.ts), end: iso(evidence.ts), severity: SEVERITY_NUMBER[signal.severity] },
        host: { name: signal.host },
        rule: { id: signal.kbId, name: signal.title },
        fineprint: {
          schema: SCHEMA_VERSION,
          incident_id: incidentId,
          fingerprint: signal.fingerprint,
          status: 'open',
          severity: signal.severity,
          count: 0,
          occurrences: [],
          search_terms: [],
        },
      };
      const lastSeen = lastSeenOf(doc);
      // The latest evidence's message; a replayed event only if it is strictly the latest.
      if (replayed ? evidence.ts > lastSeen : evidence.ts >= lastSeen) doc.message = evidence.message;
      // A new occurrence of a resolved incident is a recurrence (a replay finds its occurrence known).
      const f = doc.fineprint;
      if (f.status === 'resolved' && !f.occurrences.some((o) => o.id === evidence.occurrenceId)) {
        f.status = 'open';
        delete f.acknowledged;
        delete f.resolved;
        delete f.resolved_at;
        f.reopened = (f.reopened ?? 0) + 1;
      }
      mergeOccurrence(doc, evidence.occurrenceId, evidence.ts, evidence.ts);
      if (signal.container) {
        const image = signal.container.image || doc.container?.image.name || '';
        doc.container = { id: signal.container.id, name: signal.container.name, image: { name: image } };
      }
      if (signal.compose) doc.fineprint.compose = { ...signal.compose };
      if (signal.facts) doc.fineprint.facts = signal.facts;
      return doc;
    };
  }

  /**
   * Derived fields, recomputed from the occurrences on every write, and the update time. Returns
   * `stored` itself when nothing but the update time would change.
   */
  private finish(doc: IncidentSource, stored?: IncidentSource): IncidentSource {
    const spans = doc.fineprint.occurrences;
    // reduce, not Math.min(...spread): an incident may have more occurrences than call arguments fit.
    const first = spans.reduce((min, o) => Math.min(min, o.first), Number.POSITIVE_INFINITY);
    const last = lastSeenOf(doc);
    doc.fineprint.count = spans.length;
    doc.event.start = iso(first);
    doc.event.end = iso(last);
    doc['@timestamp'] = doc.event.end;
    const text = [
      doc.rule.name,
      doc.message,
      doc.container?.name,
      doc.container?.id,
      doc.fineprint.compose?.service,
      doc.container?.image.name,
      this.kbText.get(doc.rule.id),
    ];
    doc.fineprint.search_terms = [...new Set(text.flatMap((t) => (t ? words(t) : [])))];
    if (stored) {
      doc.fineprint.updated_at = stored.fineprint.updated_at;
      if (JSON.stringify(doc) === JSON.stringify(stored)) return stored;
    }
    doc.fineprint.updated_at = iso(Date.now());
    return doc;
  }

  /**
   * Writes incidents with optimistic concurrency: each attempt applies the mutations to the
   * document as last read; a version conflict re-reads it and tries again. An incident left with
   * no occurrence is deleted, and then its head if that still names it.
   */
  private async writeIncidents(writes: IncidentWrite[], touched: Set<string>, changed: Map<string, Incident>): Promise<void> {
    let pending = writes;
    const docs = await this.readIncidents(pending.map((w) => ({ index: w.index, id: w.id })));
    const deleted: IncidentWrite[] = [];
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > MAX_CONFLICT_RETRIES) {
        throw new FineprintError('FP_STORE_UNAVAILABLE', `incident ${pending[0]?.id}: still in conflict after ${MAX_CONFLICT_RETRIES} retries`);
      }
      const operations: (estypes.BulkOperationContainer | IncidentSource)[] = [];
      const opWrites: IncidentWrite[] = [];
      const written = new Map<string, IncidentSource>();
      for (const write of pending) {
        const stored = docs.get(write.id);
        let doc: IncidentSource | undefined = stored ? structuredClone(stored.source) : undefined;
        for (const mutate of write.mutations) doc = mutate(doc);
        if (doc && doc.fineprint.occurrences.length > 0) {
          const finished = this.finish(doc, stored?.source);
          // A replay changes nothing: no write, and the incident is not reported as changed.
          if (finished === stored?.source) continue;
          const version = stored ? { if_seq_no: stored.seqNo, if_primary_term: stored.primaryTerm } : undefined;
          operations.push(version ? { index: { _index: write.index, _id: write.id, ...version } } : { create: { _index: write.index, _id: write.id } }, finished);
          opWrites.push(write);
          written.set(write.id, finished);
        } else if (stored) {
          operations.push({ delete: { _index: write.index, _id: write.id, if_seq_no: stored.seqNo, if_primary_term: stored.primaryTerm } });
          opWrites.push(write);
        }
        touched.add(write.index);
      }
      if (operations.length === 0) break;
      const res = await this.client.bulk({ operations }, this.timeout);
      const conflicts: IncidentWrite[] = [];
      res.items.forEach((item, i) => {
        const [action, result] = Object.entries(item)[0] ?? [];
        const write = opWrites[i];
        if (!result || !write) return;
        if (result.status === 409) conflicts.push(write);
        else if (result.error) {
          throw new FineprintError('FP_STORE_UNAVAILABLE', `incident ${write.id}: ${action} failed: ${result.error.type}: ${result.error.reason ?? ''}`);
        } else if (action === 'delete') {
          deleted.push(write);
          changed.delete(write.id);
        } else {
          const doc = written.get(write.id);
          if (doc) changed.set(write.id, toIncident(doc));
        }
      });
      pending = conflicts;
      if (pending.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
        const fresh = await this.readIncidents(pending.map((w) => ({ index: w.index, id: w.id })));
        for (const write of pending) {
          const doc = fresh.get(write.id);
          if (doc) docs.set(write.id, doc);
          else docs.delete(write.id);
        }
      }
    }
    const heads = deleted.flatMap((w) => (w.head && w.head.source.incident_id === w.id ? [w.head] : []));
    if (heads.length > 0) {
      // A head changed meanwhile (409) names another incident now: it stays.
      const res = await this.client.bulk(
        { operations: heads.map((h) => ({ delete: { _index: this.names.heads, _id: h.id, if_seq_no: h.seqNo, if_primary_term: h.primaryTerm } })) },
        this.timeout,
      );
      touched.add(this.names.heads);
      for (const item of res.items) {
        const result = item.delete;
        if (result?.error && result.status !== 409 && result.status !== 404) {
          throw new FineprintError('FP_STORE_UNAVAILABLE', `head ${result._id}: delete failed: ${result.error.type}: ${result.error.reason ?? ''}`);
        }
      }
    }
  }

  /** Moves an occurrence's evidence into the incident that explains it (the embedded store's retract). */
  private async applyRetract(update: RetractUpdate, touched: Set<string>, changed: Map<string, Incident>): Promise<void> {
    const n = this.names;
    const { current } = await this.currentIncidents([update.fingerprint, update.intoFingerprint]);
    const from = current.get(update.fingerprint);
    const into = current.get(update.intoFingerprint);
    // Both incidents must exist (as the embedded store's current-incident lookup requires).
    if (!from?.doc || !into?.doc) return;

    const found = await this.client.search<EvidenceSource>(
      {
        index: n.evidenceAlias,
        ignore_unavailable: true,
        size: MAX_MOVED_EVIDENCE,
        seq_no_primary_term: false,
        query: { bool: { filter: [{ term: { 'fineprint.fingerprint': update.fingerprint } }, { term: { 'fineprint.occurrence_id': update.occurrenceId } }] } },
      },
      this.timeout,
    );
    const moved = found.hits.hits.flatMap((hit) => (hit._source ? [{ index: hit._index, id: hit._id ?? '', evidence: hit._source.fineprint.evidence }] : []));

    // Order matters for a crash midway: the target learns the occurrence first, then the evidence
    // moves, then the source forgets it. Each step is idempotent, so a replay completes the rest.
    if (moved.length > 0) {
      const first = moved.reduce((min, m) => Math.min(min, m.evidence.ts), Number.POSITIVE_INFINITY);
      const last = moved.reduce((max, m) => Math.max(max, m.evidence.ts), Number.NEGATIVE_INFINITY);
      await this.writeIncidents(
        [{ id: into.incidentId, index: into.index, mutations: [(doc) => (doc && (mergeOccurrence(doc, update.intoOccurrenceId, first, last), doc))] }],
        touched,
        changed,
      );
      const operations: (estypes.BulkOperationContainer | EvidenceSource)[] = [];
      for (const m of moved) {
        const evidence: Evidence = { ...m.evidence, occurrenceId: update.intoOccurrenceId };
        const index = n.evidenceIndex(evidence.ts);
        const id = docId(update.intoFingerprint, evidence.eventId);
        operations.push({ index: { _index: index, _id: id } }, this.evidenceDoc(update.intoFingerprint, into.incidentId, evidence));
        if (id !== m.id) operations.push({ delete: { _index: m.index, _id: m.id } });
        touched.add(index);
      }
      this.throwOnErrors('evidence move', await this.client.bulk({ operations }, this.timeout));
    }
    await this.writeIncidents(
      [
        {
          id: from.incidentId,
          index: from.index,
          ...(from.head ? { head: from.head } : {}),
          mutations: [
            (doc) => {
              if (doc) doc.fineprint.occurrences = doc.fineprint.occurrences.filter((o) => o.id !== update.occurrenceId);
              return doc;
            },
          ],
        },
      ],
      touched,
      changed,
    );
  }

  private throwOnErrors(what: string, res: estypes.BulkResponse): void {
    if (!res.errors) return;
    for (const item of res.items) {
      const [action, result] = Object.entries(item)[0] ?? [];
      if (result?.error && !(action === 'delete' && result.status === 404)) {
        throw new FineprintError('FP_STORE_UNAVAILABLE', `${what}: ${action} ${result._id} failed: ${result.error.type}: ${result.error.reason ?? ''}`);
      }
    }
  }

  async search(query: IncidentQuery): Promise<IncidentPage> {
    await this.init();
    const filter = this.filters(query);
    const searchAfter = query.cursor ? decodeCursor(query.cursor) : undefined;
    let res: estypes.SearchResponse<IncidentSource>;
    try {
      res = await this.client.search<IncidentSource>(
        {
          index: this.names.incidentsAlias,
          ignore_unavailable: true,
          allow_no_indices: true,
          track_total_hits: false,
          size: query.limit + 1,
          timeout: `${this.queryBudgetMs}ms`,
          _source: { excludes: ['fineprint.occurrences', 'fineprint.search_terms', 'fineprint.facts'] },
          query: { bool: { filter } },
          sort: [{ 'event.end': { order: 'desc' } }, { 'fineprint.incident_id': { order: 'desc' } }],
          ...(searchAfter ? { search_after: searchAfter } : {}),
        },
        this.timeout,
      );
    } catch (error) {
      throw unavailable('search', error);
    }
    if (res.timed_out) throw queryTimeout('search', this.queryBudgetMs);
    const docs = res.hits.hits.flatMap((h) => (h._source ? [h._source] : []));
    const page = docs.slice(0, query.limit).map(toIncident);
    const last = page.at(-1);
    return { incidents: page, nextCursor: docs.length > query.limit && last ? encodeCursor(Date.parse(last.lastSeen), last.id) : null };
  }

  async get(id: string): Promise<IncidentDetail | undefined> {
    await this.init();
    const n = this.names;
    try {
      const found = await this.client.search<IncidentSource>(
        {
          index: n.incidentsAlias,
          ignore_unavailable: true,
          allow_no_indices: true,
          size: 1,
          _source: { excludes: ['fineprint.occurrences', 'fineprint.search_terms'] },
          query: { ids: { values: [id] } },
          sort: [{ 'event.end': { order: 'desc' } }],
        },
        this.timeout,
      );
      const doc = found.hits.hits[0]?._source;
      if (!doc) return undefined;
      const evidence = await this.client.search<EvidenceSource>(
        {
          index: n.evidenceAlias,
          ignore_unavailable: true,
          allow_no_indices: true,
          size: EVIDENCE_PER_INCIDENT,
          track_total_hits: false,
          _source: ['fineprint.evidence'],
          query: { bool: { filter: [{ term: { 'fineprint.incident_id': id } }] } },
          sort: [{ '@timestamp': { order: 'desc' } }, { 'event.id': { order: 'desc' } }],
        },
        this.timeout,
      );
      return {
        ...toIncident(doc),
        facts: doc.fineprint.facts ?? null,
        evidence: evidence.hits.hits.flatMap((h) => (h._source ? [h._source.fineprint.evidence] : [])),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw unavailable('get', error);
    }
  }

  async activeOccurrences(sinceTs: number): Promise<ActiveOccurrence[]> {
    await this.init();
    const active: ActiveOccurrence[] = [];
    let after: Record<string, estypes.FieldValue> | undefined;
    try {
      do {
        const res = await this.client.search<EvidenceSource>(
          {
            index: this.names.evidenceAlias,
            ignore_unavailable: true,
            allow_no_indices: true,
            size: 0,
            query: { range: { '@timestamp': { gte: sinceTs, format: 'epoch_millis' } } },
            aggs: {
              fingerprints: {
                composite: { size: 500, sources: [{ fp: { terms: { field: 'fineprint.fingerprint' } } }], ...(after ? { after } : {}) },
                aggs: {
                  // Per fingerprint, the occurrence with the latest evidence.
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
          this.timeout,
        );
        const agg = res.aggregations?.fingerprints as estypes.AggregationsCompositeAggregate | undefined;
        const buckets = (agg?.buckets ?? []) as (estypes.AggregationsCompositeBucket & { latest: estypes.AggregationsTopHitsAggregate })[];
        for (const bucket of buckets) {
          const f = (bucket.latest.hits.hits[0]?._source as EvidenceSource | undefined)?.fineprint;
          if (f) active.push({ fingerprint: f.fingerprint, incidentId: f.incident_id, occurrenceId: f.occurrence_id, lastTs: f.evidence.ts });
        }
        after = buckets.length > 0 ? agg?.after_key : undefined;
      } while (after);
    } catch (error) {
      throw unavailable('activeOccurrences', error);
    }
    return active.sort((a, b) => a.lastTs - b.lastTs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  /** The query's filters (all but its cursor) as Elasticsearch filter clauses: search and facets share them. */
  private filters(query: IncidentQuery): estypes.QueryDslQueryContainer[] {
    const filter: estypes.QueryDslQueryContainer[] = [];
    // Each term a prefix of some indexed word, all terms required: the FTS5 expression of the
    // embedded store. Built from words only, so user text is never query syntax.
    for (const term of searchTerms(query.q)) filter.push({ prefix: { 'fineprint.search_terms': term } });
    if (query.kb) filter.push({ term: { 'rule.id': query.kb } });
    if (query.host) filter.push({ term: { 'host.name': query.host } });
    if (query.severity) filter.push({ term: { 'fineprint.severity': query.severity } });
    if (query.status) filter.push({ term: { 'fineprint.status': query.status } });
    if (query.container) {
      const should: estypes.QueryDslQueryContainer[] = [
        { term: { 'container.name': query.container } },
        { term: { 'fineprint.compose.service': query.container } },
      ];
      // Like the embedded store's LIKE: an id prefix of at least 12 characters, ASCII case-insensitive.
      if (query.container.length >= 12) should.push({ prefix: { 'container.id': { value: query.container, case_insensitive: true } } });
      filter.push({ bool: { should, minimum_should_match: 1 } });
    }
    if (query.since !== undefined) filter.push({ range: { 'event.end': { gte: query.since, format: 'epoch_millis' } } });
    if (query.until !== undefined) filter.push({ range: { 'event.start': { lte: query.until, format: 'epoch_millis' } } });
    if (query.updatedSince !== undefined) filter.push({ range: { 'fineprint.updated_at': { gte: query.updatedSince, format: 'epoch_millis' } } });
    return filter;
  }

  async facets(query: IncidentQuery): Promise<IncidentFacets> {
    await this.init();
    const filter = this.filters(query);
    const search = async (aggs: Record<string, estypes.AggregationsAggregationContainer>) => {
      const res = await this.client.search<IncidentSource>(
        {
          index: this.names.incidentsAlias,
          ignore_unavailable: true,
          allow_no_indices: true,
          track_total_hits: true,
          size: 0,
          timeout: `${this.queryBudgetMs}ms`,
          query: { bool: { filter } },
          aggs,
        },
        this.timeout,
      );
      if (res.timed_out) throw queryTimeout('facets', this.queryBudgetMs);
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
    // The order of the embedded store: count descending, then value ascending.
    const terms = (field: string): estypes.AggregationsAggregationContainer => ({
      terms: { field, size: FACET_SIZE, order: [{ _count: 'desc' }, { _key: 'asc' }] },
    });
    const counts = (agg: estypes.AggregationsAggregate | undefined): FacetCount[] =>
      ((agg as estypes.AggregationsStringTermsAggregate | undefined)?.buckets as estypes.AggregationsStringTermsBucket[] | undefined)?.map((b) => ({
        value: String(b.key),
        count: b.doc_count,
      })) ?? [];
    try {
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
    } catch (error) {
      throw unavailable('facets', error);
    }
  }
}

/** Opens the store and installs its templates: a bad URL or an unreachable cluster fails here, at boot. */
export async function openElasticsearchStore(options: ElasticsearchStoreOptions): Promise<ElasticsearchIncidentStore> {
  const store = new ElasticsearchIncidentStore(options);
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** Deletes every index and template of a store's prefix (tests, `fineprint` maintenance). */
export async function deleteElasticsearchStore(client: Client, indexPrefix: string, requestTimeout = 30_000): Promise<void> {
  const timeout = { requestTimeout };
  const indices = await client.indices.get({ index: `${indexPrefix}-*`, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'all' }, timeout);
  // By name: deleting by wildcard is refused by default (action.destructive_requires_name).
  const names = Object.keys(indices).filter((name) => name.startsWith(`${indexPrefix}-`));
  if (names.length > 0) await client.indices.delete({ index: names, ignore_unavailable: true }, timeout);
  for (const template of [`${indexPrefix}-incidents`, `${indexPrefix}-evidence`]) {
    try {
      await client.indices.deleteIndexTemplate({ name: template }, timeout);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
