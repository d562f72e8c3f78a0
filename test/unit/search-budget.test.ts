import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { MetricsRegistry } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { IncidentQuery } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { buildServer } from '../../services/api/server.js';
import { notifierWithoutReceivers, oomKillSignal } from '../support/api.js';

const TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const kb = loadKnowledgeBase();

/** An API over a store whose queries may take `queryBudgetMs`. */
async function serverWithBudget(queryBudgetMs?: number): Promise<FastifyInstance> {
  const db = openDatabase(':memory:');
  const store = new SqliteIncidentStore(db, kb, queryBudgetMs === undefined ? {} : { queryBudgetMs });
  await store.apply([oomKillSignal('container oom hog')]);
  return buildServer({
    store,
    kb,
    metrics: new MetricsRegistry(),
    notifier: notifierWithoutReceivers(db, store, kb),
    tokens: [{ name: 'admin', token: TOKEN, scope: 'admin' }],
    health: async () => ({}),
  });
}

describe('search cost is bounded for any read token', () => {
  let server: FastifyInstance;
  let exhausted: FastifyInstance;
  beforeAll(async () => {
    server = await serverWithBudget();
    // No time at all: every query that finds something is over budget.
    exhausted = await serverWithBudget(0);
  });
  afterAll(async () => {
    await server.close();
    await exhausted.close();
  });

  it('more than 16 distinct words answers 400 FP_QUERY_TOO_COMPLEX, saying the limit', async () => {
    const q = Array.from({ length: 17 }, (_, i) => `memory${i}`).join(' ');
    for (const path of ['/api/v1/incidents', '/api/v1/incidents/facets']) {
      const res = await server.inject({ url: `${path}?q=${encodeURIComponent(q)}`, headers: auth });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'FP_QUERY_TOO_COMPLEX', message: expect.stringContaining('at most 16 distinct words') });
    }
  });

  it('250 one-letter words search like no words at all (each alone matches nearly everything)', async () => {
    const q = Array.from({ length: 250 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'[i % 26]).join(' ');
    const res = await server.inject({ url: `/api/v1/incidents?q=${encodeURIComponent(q)}`, headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json().incidents.map((i: { kbId: string }) => i.kbId)).toEqual(['oom-kill']);
    const facets = await server.inject({ url: `/api/v1/incidents/facets?q=${encodeURIComponent(`${q.slice(0, 480)} memory`)}`, headers: auth });
    expect(facets.json()).toMatchObject({ total: 1, kb: [{ value: 'oom-kill', count: 1 }] });
  });

  it('a query over its time budget answers 503 FP_QUERY_TIMEOUT with what to change', async () => {
    for (const path of ['/api/v1/incidents', '/api/v1/incidents/facets']) {
      const res = await exhausted.inject({ url: `${path}?q=memory`, headers: auth });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'FP_QUERY_TIMEOUT', message: expect.stringContaining('narrow it with filters') });
    }
    // The store stays usable: the statement was reset, not left mid-way.
    const health = await exhausted.inject({ url: '/api/v1/incidents?kb=no-such-entry', headers: auth });
    expect(health.statusCode).toBe(200);
  });

  it('the description of q in the OpenAPI document says all of it', () => {
    const description = IncidentQuery.shape.q.description ?? '';
    expect(description).toContain('FP_QUERY_TOO_COMPLEX');
    expect(description).toContain('FP_QUERY_TIMEOUT');
    expect(description).toMatch(/shorter than 2 characters are left out/);
  });
});
