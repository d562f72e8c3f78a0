// The incident store contract against a real Elasticsearch (scripts/services/elasticsearch.sh),
// plus what only a networked store can get wrong: parity with the embedded store on a long random
// history (replays, retractions, several monthly indices) and concurrent writers of one incident.
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Incident, IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { openDatabase } from '../../shared/sqlite.js';
import { deleteElasticsearchStore, openElasticsearchStore, type ElasticsearchIncidentStore } from '../../shared/store/elasticsearch.js';
import { IncidentQuery, type IncidentStore } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { StatsQuery } from '../../shared/store/stats.js';
import { incidentStoreContract } from '../support/store-contract.js';
import { oomSignal } from '../support/incident-updates.js';

const url = process.env.FINEPRINT_ELASTICSEARCH_URL;
if (!url) {
  throw new Error('FINEPRINT_ELASTICSEARCH_URL is not set: run `bash scripts/services/elasticsearch.sh start` and eval its `env`');
}
const kb = loadKnowledgeBase();
const admin = new Client({ node: url, requestTimeout: 30_000 });
// A prefix per test: tests never see each other's incidents, and each is deleted afterwards.
const prefixes: string[] = [];

function newPrefix(): string {
  const prefix = `fp-test-${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return prefix;
}

afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await deleteElasticsearchStore(admin, prefix);
});
afterAll(async () => {
  await admin.close();
});

incidentStoreContract('Elasticsearch', async (): Promise<IncidentStore> => openElasticsearchStore({ url, kb, indexPrefix: newPrefix() }));

/** mulberry32: a small seeded generator, so a failing history can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const base = Date.UTC(2026, 10, 27, 10, 0, 0);
const query = (q: Record<string, unknown>) => IncidentQuery.parse(q);

/** A random history of batches: signals of a few fingerprints over three months, replays and retractions. */
function history(seed: number, batches: number): IncidentUpdate[][] {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const containers = [
    { host: 'h1', name: 'hog', id: 'a'.repeat(64), image: 'busybox' },
    { host: 'h1', name: 'web', id: 'b'.repeat(64), image: 'registry.example/shop/web:2' },
    { host: 'h2', name: 'hog', id: 'c'.repeat(64), image: 'busybox' },
  ];
  const kinds = [
    { kbId: 'oom-kill', title: 'Container killed by the kernel OOM killer', severity: 'critical' as const },
    { kbId: 'disk-full', title: 'Disk full', severity: 'high' as const },
    { kbId: 'jvm-heap', title: 'JVM heap too large for the container limit', severity: 'high' as const },
  ];
  const occurrences = new Map<string, string[]>();
  const out: IncidentUpdate[][] = [];
  let event = 0;
  for (let b = 0; b < batches; b += 1) {
    if (out.length > 0 && rnd() < 0.15) {
      out.push(pick(out));
      continue;
    }
    const batch: IncidentUpdate[] = [];
    for (let u = Math.floor(rnd() * 6); u >= 0; u -= 1) {
      const c = pick(containers);
      if (rnd() < 0.12) {
        const from = `oom-kill|${c.host}|ctr:${c.name}`;
        const into = `jvm-heap|${c.host}|ctr:${c.name}`;
        const fromOcc = occurrences.get(from);
        const intoOcc = occurrences.get(into);
        if (fromOcc && intoOcc) batch.push({ op: 'retract', fingerprint: from, occurrenceId: pick(fromOcc), intoFingerprint: into, intoOccurrenceId: pick(intoOcc) });
        continue;
      }
      const k = pick(kinds);
      const fingerprint = `${k.kbId}|${c.host}|ctr:${c.name}`;
      const eventId = `ev-${(event += 1)}`;
      const known = occurrences.get(fingerprint) ?? [];
      const occurrenceId = known.length > 0 && rnd() < 0.5 ? pick(known) : eventId;
      if (occurrenceId === eventId) occurrences.set(fingerprint, [...known, eventId]);
      batch.push({
        op: 'signal',
        proposedId: `p-${fingerprint}-${occurrenceId}`,
        fingerprint,
        kbId: k.kbId,
        title: k.title,
        severity: k.severity,
        host: c.host,
        container: { id: c.id, name: c.name, image: rnd() < 0.2 ? '' : c.image },
        compose: rnd() < 0.3 ? { project: 'shop', service: c.name } : null,
        facts: null,
        evidence: {
          eventId,
          occurrenceId,
          detector: `${k.kbId}/d`,
          // Three months, so several monthly indices; out of order, as replays and late lines are.
          ts: base + Math.floor((rnd() - 0.3) * 80 * 86_400_000),
          kind: pick(['docker', 'kernel', 'log'] as const),
          source: 'docker-events',
          message: `${pick(['container oom', 'No space left on device', 'java.lang.OutOfMemoryError', 'die'])} ${eventId}`,
          ...(rnd() < 0.3 ? { exitCode: 137 } : {}),
        },
      });
    }
    out.push(batch);
  }
  return out;
}

describe('Elasticsearch store: beyond the contract', () => {
  it('matches the embedded store on a random history of replays and retractions', async () => {
    const indexPrefix = newPrefix();
    const es: ElasticsearchIncidentStore = await openElasticsearchStore({ url, kb, indexPrefix });
    const sqlite = new SqliteIncidentStore(openDatabase(':memory:'), kb);
    const batches = history(20261127, 60);
    expect(batches.flat().filter((u) => u.op === 'retract').length).toBeGreaterThan(3);
    for (const batch of batches) {
      await es.apply(batch);
      await sqlite.apply(batch);
    }
    const all = await sqlite.search(query({ limit: 500 }));
    expect(all.incidents.length).toBeGreaterThan(5);
    // Everything but the update time, which is each store's own clock.
    const comparable = (incidents: Incident[]) => incidents.map(({ updatedAt: _updatedAt, ...rest }) => rest);
    expect(comparable((await es.search(query({ limit: 500 }))).incidents)).toEqual(comparable(all.incidents));
    const indices = Object.keys(await admin.indices.get({ index: `${indexPrefix}-*` }));
    expect(indices.filter((i) => i.includes('-incidents-')).length).toBeGreaterThan(1);
    expect(indices.filter((i) => i.includes('-evidence-')).length).toBeGreaterThan(1);

    for (const incident of all.incidents) {
      const [a, b] = [await es.get(incident.id), await sqlite.get(incident.id)];
      // The embedded store keeps a moved event's original occurrence id in its body; this one says
      // where it moved. Everything else is the same.
      const strip = (d: typeof a) => d && { ...d, updatedAt: undefined, evidence: d.evidence.map(({ occurrenceId: _o, ...e }) => e) };
      expect(strip(a)).toEqual(strip(b));
    }
    const queries = [
      { q: 'space left' },
      { q: 'OUTOFMEM' },
      { q: 'registry example' },
      { q: 'killer' },
      { container: 'hog' },
      { container: 'c'.repeat(12) },
      { container: 'A'.repeat(12) },
      { kb: 'disk-full', host: 'h1' },
      { severity: 'critical' },
      { severity: 'critical,high' },
      { minSeverity: 'high', severity: 'high,medium' },
      // Evidence messages end in their event's number: which of them an incident is searched by
      // (its newest evidence, through replays and retractions) is the same in both stores.
      { q: 'die' },
      { q: '12' },
      { q: '45' },
      { q: '31' },
      { since: String(base) },
      { until: new Date(base).toISOString() },
      { since: String(base - 86_400_000), until: String(base + 86_400_000) },
    ];
    for (const q of queries) {
      expect(comparable((await es.search(query({ ...q, limit: 500 }))).incidents), JSON.stringify(q)).toEqual(comparable((await sqlite.search(query({ ...q, limit: 500 }))).incidents));
    }
    for (const q of [{}, ...queries]) {
      expect(await es.facets(query(q)), `facets ${JSON.stringify(q)}`).toEqual(await sqlite.facets(query(q)));
    }
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await es.search(query({ limit: 4, ...(cursor ? { cursor } : {}) }));
      pages.push(page.incidents.map((i) => i.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages.flat()).toEqual(all.incidents.map((i) => i.id));

    const byFingerprint = (list: { fingerprint: string }[]) => [...list].sort((x, y) => x.fingerprint.localeCompare(y.fingerprint));
    for (const since of [base - 30 * 86_400_000, base, base + 20 * 86_400_000]) {
      expect(byFingerprint(await es.activeOccurrences(since))).toEqual(byFingerprint(await sqlite.activeOccurrences(since)));
    }
    await es.close();
  });

  it('deletes whole the months that hold expired incidents only, and the evidence months older than every incident left', async () => {
    const indexPrefix = newPrefix();
    const store = await openElasticsearchStore({ url, kb, indexPrefix });
    const day = 86_400_000;
    const signal = (name: string, ts: number): IncidentUpdate => oomSignal(name, ts, { message: `container oom ${name}` });
    const july = Date.UTC(2026, 6, 10);
    const october = Date.UTC(2026, 9, 3);
    const now = Date.UTC(2026, 11, 20);
    await store.apply([signal('old1', july), signal('old2', july + day), signal('mixed-old', october), signal('mixed-live', october + day), signal('open', october + 2 * day)]);
    for (const name of ['old1', 'old2', 'mixed-old']) await store.resolve(`p-${name}`, { by: 'bob', at: new Date(Date.UTC(2026, 8, 1)).toISOString(), auto: false });
    await store.resolve('p-mixed-live', { by: 'bob', at: new Date(now - day).toISOString(), auto: false });
    const months = async () => Object.keys(await admin.indices.get({ index: `${indexPrefix}-*` })).filter((i) => /\d{4}\.\d{2}$/.test(i)).sort();
    expect(await months()).toEqual([`${indexPrefix}-evidence-2026.07`, `${indexPrefix}-evidence-2026.10`, `${indexPrefix}-incidents-2026.07`, `${indexPrefix}-incidents-2026.10`]);

    expect(await store.expire(now, 90 * day)).toEqual({ incidents: 3, silences: 0 });
    // July went whole; October keeps its live incidents (its expired one went alone), and so its evidence month.
    expect(await months()).toEqual([`${indexPrefix}-evidence-2026.10`, `${indexPrefix}-incidents-2026.10`]);
    const names = (await store.search(query({}))).incidents.map((i) => i.container?.name).sort();
    expect(names).toEqual(['mixed-live', 'open']);
    expect((await store.facets(query({}))).total).toBe(2);
    expect((await store.stats(StatsQuery.parse({ from: String(july - day), to: String(now) }))).total).toBe(2);
    expect(await store.get('p-old1')).toBeUndefined();
    // A recurrence of an expired fingerprint files a new incident (its head went with the month).
    const [again] = await store.apply([{ ...signal('old1', now), proposedId: 'p-old1-again' } as IncidentUpdate]);
    expect(again).toMatchObject({ id: 'p-old1-again', status: 'open', count: 1 });
    await store.close();
  });

  it('keeps one incident with the right count when two writers file into it at once', async () => {
    const indexPrefix = newPrefix();
    const [a, b] = await Promise.all([openElasticsearchStore({ url, kb, indexPrefix }), openElasticsearchStore({ url, kb, indexPrefix })]);
    const signal = (writer: string, n: number): IncidentUpdate => ({
      op: 'signal',
      proposedId: `${writer}-${n}`,
      fingerprint: 'oom-kill|h1|ctr:hog',
      kbId: 'oom-kill',
      title: 'Container killed by the kernel OOM killer',
      severity: 'critical',
      host: 'h1',
      container: { id: 'a'.repeat(64), name: 'hog', image: 'busybox' },
      compose: null,
      facts: null,
      evidence: { eventId: `e${n}`, occurrenceId: `o${n % 40}`, detector: 'oom-kill/docker-oom', ts: base + n, kind: 'docker', source: 'docker-events', message: `oom ${n}` },
    });
    // Both writers send every event (an at-least-once replay racing the original), in small batches.
    const run = async (store: IncidentStore, writer: string) => {
      for (let n = 0; n < 120; n += 4) await store.apply([0, 1, 2, 3].map((i) => signal(writer, n + i)));
    };
    await Promise.all([run(a, 'a'), run(b, 'b')]);
    const { incidents } = await a.search(query({}));
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ count: 40, evidenceCount: 120, firstSeen: new Date(base).toISOString(), lastSeen: new Date(base + 119).toISOString(), message: 'oom 119' });
    // The first and last 20 pieces (FINEPRINT_EVIDENCE_KEPT), with no document left of the others.
    expect((await b.get(incidents[0]?.id ?? ''))?.evidence.map((e) => e.eventId).sort()).toEqual([...Array.from({ length: 20 }, (_, n) => n), ...Array.from({ length: 20 }, (_, n) => 100 + n)].map((n) => `e${n}`).sort());
    await admin.indices.refresh({ index: `${indexPrefix}-evidence` });
    expect((await admin.count({ index: `${indexPrefix}-evidence` })).count).toBe(40);
    await Promise.all([a.close(), b.close()]);
  });
});
