import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { buildServer } from '../../services/api/server.js';
import { notifierWithoutReceivers, oomKillSignal } from '../support/api.js';

const TOKEN = 'test-admin-token-0123456789';
const READ_TOKEN = 'test-read-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const readAuth = { authorization: `Bearer ${READ_TOKEN}` };
const kb = loadKnowledgeBase();
let server: FastifyInstance;
let incidentId: string;

beforeAll(async () => {
  const db = openDatabase(':memory:');
  const store = new SqliteIncidentStore(db, kb);
  await store.apply([oomKillSignal('container oom hog <script>alert(1)</script>')]);
  const registry = new MetricsRegistry();
  pipelineMetrics(registry).received.inc({ source: 'kmsg' }, 3);
  const notifier = notifierWithoutReceivers(db, store, kb);
  server = await buildServer({
    store,
    kb,
    metrics: registry,
    notifier,
    tokens: [
      { name: 'admin', token: TOKEN, scope: 'admin' },
      { name: 'grafana', token: READ_TOKEN, scope: 'read' },
    ],
    health: async () => ({ store: { ok: true } }),
  });
  incidentId = (await store.search({ limit: 1 })).incidents[0]?.id ?? '';
});
afterAll(async () => server.close());

describe('REST API on the real embedded store', () => {
  it('refuses requests without a token or with a wrong one, with a clear 401', async () => {
    const missing = await server.inject({ url: '/api/v1/incidents' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ code: 'FP_UNAUTHORIZED', message: expect.stringContaining('Authorization') });
    const wrong = await server.inject({ url: '/api/v1/incidents', headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
  });

  it('lists incidents with the documented fields', async () => {
    const res = await server.inject({ url: '/api/v1/incidents?kb=oom-kill&limit=10', headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.nextCursor).toBeNull();
    expect(body.incidents).toHaveLength(1);
    expect(body.incidents[0]).toMatchObject({
      id: incidentId,
      kbId: 'oom-kill',
      severity: 'critical',
      status: 'open',
      host: 'h1',
      container: { id: 'c'.repeat(64), name: 'hog', image: 'busybox' },
      count: 1,
      firstSeen: '2026-11-27T00:00:00.000Z',
      lastSeen: '2026-11-27T00:00:00.000Z',
    });
  });

  it('full-text search finds incidents by the KB entry text', async () => {
    const res = await server.inject({ url: `/api/v1/incidents?q=${encodeURIComponent('memory-swap')}`, headers: auth });
    expect(res.json().incidents.map((i: { kbId: string }) => i.kbId)).toEqual(['oom-kill']);
  });

  it('filters by several severities at once, or by a severity or worse', async () => {
    const kbIds = async (query: string) => (await server.inject({ url: `/api/v1/incidents?${query}`, headers: auth })).json().incidents.map((i: { kbId: string }) => i.kbId);
    expect(await kbIds('severity=critical,high')).toEqual(['oom-kill']);
    expect(await kbIds('severity=low,medium')).toEqual([]);
    expect(await kbIds('minSeverity=high')).toEqual(['oom-kill']);
  });

  it('serves one incident with the KB entry why and fix, and the evidence', async () => {
    const res = await server.inject({ url: `/api/v1/incidents/${incidentId}`, headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.kb.id).toBe('oom-kill');
    expect(body.kb.why.length).toBeGreaterThan(40);
    expect(body.kb.fix.length).toBeGreaterThan(0);
    expect(body.evidence[0]).toMatchObject({ eventId: 'e1', kind: 'docker' });
  });

  it.each([
    ['/api/v1/incidents?limit=501', 'querystring.limit'],
    ['/api/v1/incidents?limit=abc', 'querystring.limit'],
    ['/api/v1/incidents?severity=apocalyptic', 'querystring.severity'],
    ['/api/v1/incidents?severity=critical,apocalyptic', 'querystring.severity'],
    ['/api/v1/incidents?minSeverity=worst', 'querystring.minSeverity'],
    ['/api/v1/incidents?since=yesterday', 'querystring.since'],
    ['/api/v1/incidents?colour=red', 'colour'],
    ['/api/v1/incidents?cursor=garbage', 'cursor'],
    ['/api/v1/incidents/..%2F..%2Fetc', 'params.id'],
  ])('rejects %s with a 400 naming %s', async (url, field) => {
    const res = await server.inject({ url, headers: auth });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'FP_BAD_REQUEST', message: expect.stringContaining(field) });
  });

  it('answers 404 with a stable code for unknown incidents, KB ids and routes', async () => {
    for (const url of ['/api/v1/incidents/doesnotexist', '/api/v1/kb/nope', '/api/v1/nothing-here']) {
      const res = await server.inject({ url, headers: auth });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('FP_NOT_FOUND');
    }
  });

  it('serves the knowledge base', async () => {
    const list = await server.inject({ url: '/api/v1/kb', headers: auth });
    expect(list.json().entries.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining(['oom-kill', 'pids-exhausted', 'sigterm-ignored']));
    const one = await server.inject({ url: '/api/v1/kb/pids-exhausted', headers: auth });
    expect(one.json()).toMatchObject({ id: 'pids-exhausted', detectors: expect.any(Array) });
  });

  it('serves /healthz and Prometheus /metrics without a token', async () => {
    expect((await server.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok', components: { store: { ok: true } } });
    const metrics = await server.inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('fineprint_events_received_total{source="kmsg"} 3');
  });

  it('acknowledges and resolves with the admin token, recording who, when and the comment', async () => {
    const ack = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/ack`, headers: auth, payload: { comment: 'on it', by: 'alice' } });
    expect(ack.statusCode).toBe(200);
    expect(ack.json()).toMatchObject({ id: incidentId, status: 'acknowledged', acknowledged: { by: 'alice', comment: 'on it', at: expect.any(String) } });
    // Idempotent: acknowledging again keeps the first acknowledgement.
    const again = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/ack`, headers: auth });
    expect(again.json(), again.body).toMatchObject({ acknowledged: { by: 'alice' } });
    const resolved = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/resolve`, headers: auth });
    expect(resolved.json()).toMatchObject({ status: 'resolved', resolved: { by: 'admin', auto: false } });
    const late = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/ack`, headers: auth });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('FP_CONFLICT');
    const detail = await server.inject({ url: `/api/v1/incidents/${incidentId}`, headers: readAuth });
    expect(detail.json()).toMatchObject({ status: 'resolved', notifications: [] });
    const missing = await server.inject({ method: 'POST', url: '/api/v1/incidents/nope/resolve', headers: auth });
    expect(missing.statusCode).toBe(404);
  });

  it('creates, lists and deletes silences; rejects silences that match nothing or end before they start', async () => {
    const created = await server.inject({
      method: 'POST',
      url: '/api/v1/silences',
      headers: auth,
      payload: { matchers: { kb: 'crash-*', container: 'canary-?' }, duration: '2h', comment: 'canary deploy' },
    });
    expect(created.statusCode).toBe(201);
    const silence = created.json();
    expect(silence).toMatchObject({ matchers: { kb: 'crash-*', container: 'canary-?' }, createdBy: 'admin', comment: 'canary deploy' });
    expect(Date.parse(silence.endsAt) - Date.parse(silence.startsAt)).toBe(7_200_000);
    expect((await server.inject({ url: '/api/v1/silences', headers: readAuth })).json().silences).toEqual([silence]);
    for (const payload of [
      { matchers: {}, duration: '1h', comment: 'x' },
      { matchers: { kb: 'oom-kill' }, comment: 'no end' },
      { matchers: { kb: 'oom-kill' }, endsAt: '2001-01-01T00:00:00Z', comment: 'in the past' },
      { matchers: { kb: 'oom-kill' }, duration: '1h', comment: 'x', extra: true },
    ]) {
      const bad = await server.inject({ method: 'POST', url: '/api/v1/silences', headers: auth, payload });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
      expect(bad.json().code).toBe('FP_BAD_REQUEST');
    }
    expect((await server.inject({ method: 'DELETE', url: `/api/v1/silences/${silence.id}`, headers: auth })).statusCode).toBe(204);
    expect((await server.inject({ method: 'DELETE', url: `/api/v1/silences/${silence.id}`, headers: auth })).statusCode).toBe(404);
    expect((await server.inject({ url: '/api/v1/silences', headers: auth })).json().silences).toEqual([]);
  });

  it('a read-only token can search and read but not acknowledge, resolve or silence', async () => {
    expect((await server.inject({ url: '/api/v1/incidents', headers: readAuth })).statusCode).toBe(200);
    for (const [method, url] of [
      ['POST', `/api/v1/incidents/${incidentId}/ack`],
      ['POST', `/api/v1/incidents/${incidentId}/resolve`],
      ['POST', '/api/v1/silences'],
      ['DELETE', '/api/v1/silences/some-id'],
    ] as const) {
      const res = await server.inject({ method, url, headers: readAuth, payload: { matchers: { kb: 'x' }, duration: '1h', comment: 'x' } });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().code).toBe('FP_FORBIDDEN');
    }
  });
});

describe('incident lists stay small whatever the messages', () => {
  it('cuts each listed message to 512 characters; the incident itself has it whole', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteIncidentStore(db, kb);
    const long = `container oom hog ${'x'.repeat(16_000)}`;
    await store.apply([oomKillSignal(long)]);
    const app = await buildServer({
      store,
      kb,
      metrics: new MetricsRegistry(),
      notifier: notifierWithoutReceivers(db, store, kb),
      tokens: [{ name: 'admin', token: TOKEN, scope: 'admin' }],
      health: async () => ({ store: { ok: true } }),
    });
    try {
      const [listed] = (await app.inject({ url: '/api/v1/incidents', headers: auth })).json().incidents;
      expect(listed.message).toBe(long.slice(0, 512));
      expect((await app.inject({ url: `/api/v1/incidents/${listed.id}`, headers: auth })).json().message).toBe(long);
    } finally {
      await app.close();
    }
  });
});
