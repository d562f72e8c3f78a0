import { Client } from '@elastic/elasticsearch';
import { FineprintError, isNotFound } from '../errors.js';
import type { Incident, IncidentDetail, IncidentUpdate, LifecycleMark } from '../incident.js';
import type { KnowledgeBase } from '../kb/load.js';
import { Silence } from '../silence.js';
import { installIndices, storeNames, type StoreNames } from './elasticsearch/mappings.js';
import { activeOccurrences, getIncident, incidentFacets, searchIncidents, type ReadContext } from './elasticsearch/reads.js';
import { refresh, unavailable } from './elasticsearch/requests.js';
import { acknowledgeMutation, applyUpdates, mutateOne, resolveMutation, resolveQuietIncidents, type WriteContext } from './elasticsearch/writes.js';
import { DEFAULT_EVIDENCE_KEPT, kbSearchTexts } from './incident-rules.js';
import { DEFAULT_REOPEN_WINDOW_MS, type ActiveOccurrence, type IncidentFacets, type IncidentPage, type IncidentQuery, type IncidentStore, type LifecycleOptions, type ResolveMark } from './index.js';
import { dropRiskIncidents, ElasticsearchRiskStore } from './elasticsearch/risks.js';
import { expireElasticsearch } from './elasticsearch/retention.js';
import { incidentStats } from './elasticsearch/stats.js';
import type { IncidentStats, StatsQuery } from './stats.js';
import type { ExpiredCounts } from './retention.js';
import { QUERY_BUDGET_MS, type QueryBudgetOptions } from './search-terms.js';

/*
 * The distributed incident store: incidents, their evidence and silences in Elasticsearch indices
 * (elasticsearch/mappings.ts), written with optimistic concurrency so that retries and replays
 * change nothing (elasticsearch/writes.ts), searched with filters only (elasticsearch/reads.ts).
 */

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

/**
 * `ElasticsearchIncidentStore` keeps incidents in Elasticsearch for the fleet tier. Safe for one
 * writer per fingerprint at a time (the classifier group's partitioning gives that) and any number
 * of readers; concurrent writers of one incident are serialized by optimistic concurrency.
 */
export class ElasticsearchIncidentStore implements IncidentStore {
  private readonly ownsClient: boolean;
  private readonly context: WriteContext & ReadContext;
  private setup: Promise<void> | undefined;
  readonly risks: ElasticsearchRiskStore;

  constructor(options: ElasticsearchStoreOptions) {
    const prefix = options.indexPrefix ?? 'fineprint';
    if (!/^[a-z0-9][a-z0-9_.-]{0,100}$/.test(prefix)) {
      throw new FineprintError('FP_CONFIG_INVALID', `indexPrefix: "${prefix}" is not a valid index name prefix (lowercase letters, digits, . _ -)`);
    }
    const requestTimeout = options.requestTimeoutMs ?? 10_000;
    let client: Client;
    if (options.client) {
      client = options.client;
      this.ownsClient = false;
    } else if (options.url) {
      client = new Client({ node: options.url, requestTimeout, maxRetries: 2 });
      this.ownsClient = true;
    } else {
      throw new FineprintError('FP_CONFIG_INVALID', 'the Elasticsearch store needs a client or a url');
    }
    this.context = {
      client,
      names: storeNames(prefix),
      timeout: { requestTimeout },
      kbText: kbSearchTexts(options.kb),
      reopenWindowMs: options.reopenWindowMs ?? DEFAULT_REOPEN_WINDOW_MS,
      evidenceKept: options.evidenceKept ?? DEFAULT_EVIDENCE_KEPT,
      queryBudgetMs: options.queryBudgetMs ?? QUERY_BUDGET_MS,
    };
    this.risks = new ElasticsearchRiskStore(client, this.names.risks, this.context.timeout, () => this.init());
  }

  /** Index and alias names, for tools and tests. */
  get names(): StoreNames {
    return this.context.names;
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
    await installIndices(this.context);
    await this.risks.install();
    await dropRiskIncidents(this.context.client, this.names, this.context.timeout);
  }

  /** Runs one operation once the store is set up; its failures are FP_STORE_UNAVAILABLE. */
  private async run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    await this.init();
    try {
      return await operation();
    } catch (error) {
      throw unavailable(what, error);
    }
  }

  async apply(updates: IncidentUpdate[]): Promise<Incident[]> {
    if (updates.length === 0) return [];
    return this.run('apply', async () => {
      const touched = new Set<string>();
      const changed = new Map<string, Incident>();
      await applyUpdates(this.context, updates, touched, changed);
      // Read-after-write: callers (and the API) search right after apply resolves.
      await refresh(this.context, touched);
      return [...changed.values()];
    });
  }

  async acknowledge(id: string, mark: LifecycleMark): Promise<Incident | undefined> {
    return this.run('acknowledge', () => mutateOne(this.context, id, acknowledgeMutation(mark)));
  }

  async resolve(id: string, mark: ResolveMark): Promise<Incident | undefined> {
    return this.run('resolve', () => mutateOne(this.context, id, resolveMutation(mark)));
  }

  async resolveQuiet(now: number, quietMs: (kbId: string) => number): Promise<Incident[]> {
    return this.run('resolveQuiet', () => resolveQuietIncidents(this.context, now, quietMs));
  }

  async expire(now: number, retentionMs: number): Promise<ExpiredCounts> {
    return this.run('expire', () => expireElasticsearch(this.context, now, retentionMs));
  }

  async putSilence(silence: Silence): Promise<void> {
    const { client, names, timeout } = this.context;
    await this.run('putSilence', () => client.index({ index: names.silences, id: silence.id, document: { body: silence }, refresh: true }, timeout));
  }

  async silences(): Promise<Silence[]> {
    const { client, names, timeout } = this.context;
    return this.run('silences', async () => {
      const res = await client.search<{ body: unknown }>({ index: names.silences, size: 10_000, query: { match_all: {} } }, timeout);
      return res.hits.hits.flatMap((h) => {
        const parsed = Silence.safeParse(h._source?.body);
        return parsed.success ? [parsed.data] : [];
      });
    });
  }

  async deleteSilence(id: string): Promise<boolean> {
    const { client, names, timeout } = this.context;
    return this.run('deleteSilence', async () => {
      try {
        await client.delete({ index: names.silences, id, refresh: true }, timeout);
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    });
  }

  async search(query: IncidentQuery): Promise<IncidentPage> {
    return this.run('search', () => searchIncidents(this.context, query));
  }

  async facets(query: IncidentQuery): Promise<IncidentFacets> {
    return this.run('facets', () => incidentFacets(this.context, query));
  }

  async stats(query: StatsQuery): Promise<IncidentStats> {
    return this.run('stats', () => incidentStats(this.context, query, Date.now()));
  }

  async get(id: string): Promise<IncidentDetail | undefined> {
    return this.run('get', () => getIncident(this.context, id));
  }

  async activeOccurrences(sinceTs: number): Promise<ActiveOccurrence[]> {
    return this.run('activeOccurrences', () => activeOccurrences(this.context, sinceTs));
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.context.client.close();
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
