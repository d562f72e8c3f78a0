// What the page reads besides incidents: the containers view's route, entity tags that let it poll
// for a few bytes, and why an incident's notifications list is empty.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { MetricsRegistry } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { buildServer } from '../../services/api/server.js';
import { notifierWithoutReceivers, oomKillSignal } from '../support/api.js';

const TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const kb = loadKnowledgeBase();
let server: FastifyInstance;
let store: SqliteIncidentStore;

/** A crash loop of container `name` (id made of `idChar`) at `ts`. */
function crashLoop(name: string, idChar: string, ts: number): IncidentUpdate {
  return {
    op: 'signal',
    proposedId: `inc-crash-${name}`,
    fingerprint: `crash-loop|h1|ctr:${name}`,
    kbId: 'crash-loop',
    title: 'Container crash loop',
    severity: 'high',
    host: 'h1',
    container: { id: idChar.repeat(64), name, image: 'busybox' },
    compose: null,
    facts: null,
    evidence: { eventId: `e-${name}`, occurrenceId: `e-${name}`, detector: 'crash-loop/die', ts, kind: 'docker', source: 'docker-events', message: `container die ${name}`, action: 'die', exitCode: 1 },
  };
}

beforeAll(async () => {
  const db = openDatabase(':memory:');
  store = new SqliteIncidentStore(db, kb);
  await store.apply([oomKillSignal(), crashLoop('hog', 'c', Date.UTC(2026, 10, 27, 1)), crashLoop('web', 'd', Date.UTC(2026, 10, 27, 2))]);
  const web = (await store.search({ limit: 10, container: 'web' })).incidents[0];
  await store.resolve(web?.id ?? '', { by: 'admin', at: new Date().toISOString(), auto: false });
  server = await buildServer({
    store,
    kb,
    metrics: new MetricsRegistry(),
    notifier: notifierWithoutReceivers(db, store, kb),
    tokens: [{ name: 'admin', token: TOKEN, scope: 'admin' }],
    health: async () => ({ store: { ok: true } }),
  });
});
afterAll(async () => server.close());

describe('GET /api/v1/containers', () => {
  it('lists each container once with its incidents by status, the most troubled first', async () => {
    const res = await server.inject({ url: '/api/v1/containers', headers: auth });
    expect(res.statusCode).toBe(200);
    const { containers, complete } = res.json();
    expect(complete).toBe(true);
    expect(containers.map((c: { name: string }) => c.name)).toEqual(['hog', 'web']);
    const [hog, web] = containers;
    expect(hog).toMatchObject({ host: 'h1', id: 'c'.repeat(64), worst: 'critical', incidents: { open: 2, acknowledged: 0, resolved: 0 }, state: null });
    expect(hog.unresolved.map((i: { severity: string }) => i.severity).sort()).toEqual(['critical', 'high']);
    expect(web).toMatchObject({ worst: null, incidents: { open: 0, acknowledged: 0, resolved: 1 }, unresolved: [] });
  });
});

describe('entity tags on GET', () => {
  it('answers 304 without a body while the answer is unchanged, and 200 once it changes', async () => {
    const first = await server.inject({ url: '/api/v1/incidents', headers: auth });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/".+"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    const same = await server.inject({ url: '/api/v1/incidents', headers: { ...auth, 'if-none-match': etag } });
    expect(same.statusCode).toBe(304);
    expect(same.body).toBe('');

    await store.apply([crashLoop('new', 'e', Date.UTC(2026, 10, 27, 3))]);
    const changed = await server.inject({ url: '/api/v1/incidents', headers: { ...auth, 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().incidents.map((i: { container: { name: string } }) => i.container.name)).toContain('new');
    expect(changed.headers.etag).not.toBe(etag);
  });
});

describe('an incident without notifications', () => {
  it('says no receiver is configured', async () => {
    const [incident] = (await store.search({ limit: 1, kb: 'oom-kill' })).incidents;
    const detail = (await server.inject({ url: `/api/v1/incidents/${incident?.id}`, headers: auth })).json();
    expect(detail.notifications).toEqual([]);
    expect(detail.notificationRouting).toEqual({ receivers: 0, routedTo: [] });
  });
});
