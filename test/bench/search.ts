// Search latency: p95 of what the incidents page asks for one full-text query with filters (KB
// entry, host, time range): the page of incidents, the facets and the histogram, together, over a
// store holding many incidents, through the store the API uses (embedded SQLite, Elasticsearch).
// Baseline, in the same run on the same data: the same full-text queries without filters.
import { Client } from '@elastic/elasticsearch';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase, type KnowledgeBase } from '../../shared/kb/load.js';
import { openDatabase } from '../../shared/sqlite.js';
import { deleteElasticsearchStore, openElasticsearchStore } from '../../shared/store/elasticsearch.js';
import { IncidentQuery, type IncidentStore } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { percentile } from './report.js';

const HOSTS = 10;
const CONTAINERS = 1000;
const SPACING_MS = 1000;
/** Words of the KB's titles and fixture lines: what people type into the search box. */
const WORDS = ['memory', 'killed', 'space', 'fork', 'disk', 'heap', 'unhealthy', 'refused', 'timeout', 'device'];

export interface SearchResult {
  incidents: number;
  loadPerSecond: number;
  /** p95 of page + facets + histogram of full text and filters, ms. */
  filteredP95: number;
  /** p95 of the same without filters, ms. */
  unfilteredP95: number;
  queries: number;
}

/** Incident `i`: one of the KB's entries, on one of HOSTS hosts, one of CONTAINERS containers, one s apart. */
function incidents(kb: KnowledgeBase, from: number, to: number, base: number): IncidentUpdate[] {
  const updates: IncidentUpdate[] = [];
  for (let i = from; i < to; i += 1) {
    const entry = kb.entries[i % kb.entries.length] as KnowledgeBase['entries'][number];
    const lines = entry.fixtures.positive.flatMap((f) => f.lines);
    const line = (lines[i % Math.max(1, lines.length)] ?? entry.title).slice(0, 500);
    const host = `host-${i % HOSTS}`;
    const name = `svc-${i % CONTAINERS}`;
    updates.push({
      op: 'signal',
      proposedId: `bench-${i}`,
      // One incident each: the occurrence number makes the fingerprint unique.
      fingerprint: `${entry.id}|${host}|ctr:${name}|${i}`,
      kbId: entry.id,
      title: entry.title,
      severity: entry.severity,
      host,
      container: { id: i.toString(16).padStart(64, 'c'), name, image: `example/${name}:1.0` },
      compose: null,
      facts: null,
      evidence: {
        eventId: `bench-e${i}`,
        occurrenceId: `bench-e${i}`,
        detector: `${entry.id}/${entry.detectors[0]?.id ?? 'd'}`,
        ts: base + i * SPACING_MS,
        kind: 'log',
        source: 'bench',
        message: `${line} #${i}`,
      },
    });
  }
  return updates;
}

async function load(store: IncidentStore, kb: KnowledgeBase, count: number, batch: number, base: number, label: string): Promise<number> {
  const started = Date.now();
  let lastReport = started;
  for (let i = 0; i < count; i += batch) {
    await store.apply(incidents(kb, i, Math.min(count, i + batch), base));
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      process.stderr.write(`${label}: ${i + batch}/${count} incidents loaded\n`);
    }
  }
  return (count / (Date.now() - started)) * 1000;
}

async function timeQueries(store: IncidentStore, kb: KnowledgeBase, count: number, queries: number, base: number): Promise<{ filtered: number; unfiltered: number }> {
  const filtered: number[] = [];
  const unfiltered: number[] = [];
  const time = async (query: Record<string, unknown>, into: number[]) => {
    const parsed = IncidentQuery.parse(query);
    const started = process.hrtime.bigint();
    await Promise.all([store.search(parsed), store.facets(parsed)]);
    into.push(Number(process.hrtime.bigint() - started) / 1e6);
  };
  for (let n = 0; n < queries; n += 1) {
    const q = WORDS[n % WORDS.length] as string;
    const entry = kb.entries[(n * 7) % kb.entries.length] as KnowledgeBase['entries'][number];
    // A quarter of the time range, sliding.
    const since = base + Math.floor(((n % 4) * count * SPACING_MS) / 4);
    const until = since + Math.floor((count * SPACING_MS) / 4);
    // Interleaved, so both see the same caches and the same background load.
    await time({ q, kb: entry.id, host: `host-${n % HOSTS}`, since: String(since), until: String(until) }, filtered);
    await time({ q }, unfiltered);
  }
  const p95 = (values: number[]) => percentile([...values].sort((a, b) => a - b), 95);
  return { filtered: p95(filtered), unfiltered: p95(unfiltered) };
}

/** The embedded SQLite store, in a file as in production. */
export async function sqliteSearch(count: number, queries: number): Promise<SearchResult> {
  const kb = loadKnowledgeBase();
  const dir = mkdtempSync(join(tmpdir(), 'fineprint-bench-search-'));
  const store = new SqliteIncidentStore(openDatabase(join(dir, 'fineprint.db')), kb);
  const base = Date.now() - count * SPACING_MS;
  try {
    const loadPerSecond = await load(store, kb, count, 2000, base, 'sqlite');
    const { filtered, unfiltered } = await timeQueries(store, kb, count, queries, base);
    return { incidents: count, loadPerSecond, filteredP95: filtered, unfilteredP95: unfiltered, queries };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The fields of a stored incident document that make one incident differ from another. */
interface IncidentDocument {
  '@timestamp': string;
  message: string;
  event: { start: string; end: string };
  host: { name: string };
  container?: { id: string; name: string };
  rule: { id: string };
  fineprint: { incident_id: string; fingerprint: string; occurrences: { id: string; first: number; last: number }[] };
}

/**
 * Filing a million incidents one signal at a time takes the store about half an hour here (it reads
 * heads, writes evidence and refreshes per batch). So SEEDS incidents are filed through the store
 * (its real write path), and the rest are copies of their incident documents, bulk-indexed with
 * what makes an incident distinct (id, fingerprint, host, container, times, message) changed the
 * way the seeds vary. Searches see exactly the documents the store writes.
 */
const SEEDS = 2000;

async function bulkCopies(client: Client, alias: string, from: number, count: number, base: number): Promise<void> {
  const seeds = (await client.search<IncidentDocument>({ index: alias, size: SEEDS, query: { match_all: {} } })).hits.hits;
  if (seeds.length === 0) throw new Error('no seed incidents to copy');
  async function* copies(): AsyncGenerator<{ index: string; id: string; doc: IncidentDocument }> {
    for (let i = from; i < count; i += 1) {
      const seed = seeds[i % seeds.length] as (typeof seeds)[number];
      const doc = structuredClone(seed._source) as IncidentDocument;
      const ts = base + i * SPACING_MS;
      const iso = new Date(ts).toISOString();
      const host = `host-${i % HOSTS}`;
      const name = `svc-${i % CONTAINERS}`;
      doc['@timestamp'] = iso;
      doc.event.start = iso;
      doc.event.end = iso;
      doc.host.name = host;
      if (doc.container) doc.container = { ...doc.container, id: i.toString(16).padStart(64, 'c'), name };
      doc.message = `${doc.message.replace(/ #\d+$/, '')} #${i}`;
      doc.fineprint.incident_id = `bench-${i}`;
      doc.fineprint.fingerprint = `${doc.rule.id}|${host}|ctr:${name}|${i}`;
      doc.fineprint.occurrences = [{ id: `bench-e${i}`, first: ts, last: ts }];
      yield { index: seed._index, id: `bench-${i}`, doc };
    }
  }
  const stats = await client.helpers.bulk({
    datasource: copies(),
    onDocument: (copy) => [{ index: { _index: copy.index, _id: copy.id } }, copy.doc],
    flushBytes: 5_000_000,
    concurrency: 2,
    refreshOnCompletion: alias,
  });
  if (stats.failed > 0) throw new Error(`${stats.failed} of ${stats.total} copies failed to index`);
}

/** The Elasticsearch store under a prefix of its own, deleted afterwards. */
export async function elasticsearchSearch(count: number, queries: number): Promise<SearchResult> {
  const kb = loadKnowledgeBase();
  const url = process.env.FINEPRINT_ELASTICSEARCH_URL as string;
  const indexPrefix = `fineprint-bench-${process.pid}-${Date.now().toString(36)}`;
  const client = new Client({ node: url, requestTimeout: 300_000 });
  // Bulk loads of thousands of documents take longer than the default request timeout under load.
  const store = await openElasticsearchStore({ url, kb, indexPrefix, requestTimeoutMs: 120_000 });
  const base = Date.now() - count * SPACING_MS;
  try {
    const started = Date.now();
    const seeds = Math.min(count, SEEDS);
    await load(store, kb, seeds, 1000, base, 'elasticsearch');
    if (count > seeds) await bulkCopies(client, store.names.incidentsAlias, seeds, count, base);
    const loadPerSecond = (count / (Date.now() - started)) * 1000;
    const { filtered, unfiltered } = await timeQueries(store, kb, count, queries, base);
    return { incidents: count, loadPerSecond, filteredP95: filtered, unfilteredP95: unfiltered, queries };
  } finally {
    await store.close();
    await deleteElasticsearchStore(client, indexPrefix).catch((error: unknown) => process.stderr.write(`could not delete the bench indices: ${(error as Error).message}\n`));
    await client.close();
  }
}
