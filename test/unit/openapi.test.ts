// The OpenAPI document is generated from the routes as registered: every route is in it with its
// parameters, bodies, scopes and error responses, it is valid OpenAPI 3.1, and what the API really
// answers matches it.
import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERRORS } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { MetricsRegistry } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { IncidentQuery } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { app } from '../../services/api/app.js';
import { buildServer } from '../../services/api/server.js';
import { openApiPath } from '../../services/api/openapi/document.js';
import { ErrorBody } from '../../services/api/plugins/errors.js';
import { notifierWithoutReceivers, oomKillSignal } from '../support/api.js';

const ADMIN = 'openapi-admin-token-0123456789';
const READ = 'openapi-read-token-0123456789';
const kb = loadKnowledgeBase();
const db = openDatabase(':memory:');
const store = new SqliteIncidentStore(db, kb);
const notifier = notifierWithoutReceivers(db, store, kb);


interface Operation {
  parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
  security: Record<string, string[]>[];
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }>; securitySchemes: Record<string, unknown> };
}

let server: FastifyInstance;
/** Every route Fastify registered, seen by a hook of the test's own: the ground truth. */
const registered: RouteOptions[] = [];
let doc: Document;
let incidentId: string;

beforeAll(async () => {
  await store.apply([oomKillSignal()]);
  incidentId = (await store.search(IncidentQuery.parse({}))).incidents[0]?.id ?? '';
  server = Fastify({ logger: false });
  server.addHook('onRoute', (route) => void registered.push(route));
  await server.register(app, {
    store,
    kb,
    notifier,
    metrics: new MetricsRegistry(),
    tokens: [
      { name: 'admin', token: ADMIN, scope: 'admin' },
      { name: 'reader', token: READ, scope: 'read' },
    ],
    health: async () => ({ store: { ok: true } }),
  });
  await server.ready();
  const res = await server.inject({ url: '/api/v1/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(async () => server?.close());

/** The documented routes: every method but the HEAD Fastify adds to each GET, and the docs page's assets. */
function documentedRoutes(): { method: string; path: string; route: RouteOptions }[] {
  return registered
    .filter((route) => !(route.schema as { hide?: boolean } | undefined)?.hide)
    .flatMap((route) => [route.method].flat().map((method) => ({ method: method.toLowerCase(), path: openApiPath(route.url), route })))
    .filter(({ method }) => method !== 'head');
}

describe('OpenAPI document', () => {
  it('is served without a token and is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every registered route, with {param} paths', () => {
    const routes = documentedRoutes();
    // The API's core routes, so an empty registry cannot pass.
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['get /api/v1/incidents', 'get /api/v1/incidents/{id}', 'get /api/v1/kb/{id}', 'get /healthz', 'get /api/v1/openapi.json', 'get /api/v1/docs']),
    );
    for (const { method, path } of routes) {
      expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(path).not.toContain(':');
    }
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`));
    expect(documented.sort()).toEqual([...new Set(routes.map((r) => `${r.method} ${r.path}`))].sort());
  });

  it('documents path and query parameters from the zod schemas that validate them', () => {
    for (const { method, path } of documentedRoutes()) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const pathParams = doc.paths[path]?.[method]?.parameters.filter((p) => p.in === 'path') ?? [];
      expect(pathParams.map((p) => p.name).sort(), `${method} ${path}`).toEqual(names.sort());
      for (const p of pathParams) expect(p.required).toBe(true);
    }
    const search = doc.paths['/api/v1/incidents']?.get;
    const query = Object.fromEntries((search?.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p]));
    expect(Object.keys(query).sort()).toEqual(Object.keys(IncidentQuery.shape).sort());
    expect(query.limit).toMatchObject({ required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } });
    expect(query.severity?.schema).toMatchObject({ type: 'string', pattern: expect.stringContaining('critical') });
    expect(query.minSeverity?.schema).toMatchObject({ enum: ['info', 'low', 'medium', 'high', 'critical'] });
    expect(doc.paths['/api/v1/incidents/{id}']?.get?.parameters[0]).toMatchObject({ name: 'id', in: 'path', schema: { type: 'string', maxLength: 64 } });
  });

  it('documents the error responses of every route with the ErrorBody and its stable codes', () => {
    const errorBody = doc.components.schemas.ErrorBody;
    expect(errorBody?.properties.code?.enum?.sort()).toEqual(Object.keys(ERRORS).sort());
    for (const { method, path, route } of documentedRoutes()) {
      const op = doc.paths[path]?.[method] as Operation;
      const errors = Object.keys(op.responses).filter((s) => /^[45]/.test(s));
      const where = `${method.toUpperCase()} ${path}`;
      expect(errors, where).toContain('500');
      if (!route.config?.public) expect(errors, where).toEqual(expect.arrayContaining(['401', '503']));
      if (route.config?.scope === 'admin') expect(errors, where).toContain('403');
      if (path.includes('{')) expect(errors, where).toEqual(expect.arrayContaining(['400', '404']));
      // A route may answer an error status with a body of its own (/healthz's 503 is its health report).
      const declared = Object.keys((route.schema as { response?: object } | undefined)?.response ?? {});
      for (const status of errors.filter((s) => !declared.includes(s))) {
        expect(op.responses[status]?.content?.['application/json']?.schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/ErrorBody' });
      }
    }
  });

  it('describes the bearer scheme and each route\'s scope', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/api/v1/incidents']?.get?.security).toEqual([{ bearerAuth: ['read'] }]);
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    for (const { method, path } of documentedRoutes().filter((r) => r.route.config?.scope === 'admin')) {
      expect(doc.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ bearerAuth: ['admin'] }]);
    }
  });

  it('answers what it documents: the errors are ErrorBody and the statuses are listed', async () => {
    const cases = [
      { url: '/api/v1/incidents/nope', path: '/api/v1/incidents/{id}', headers: { authorization: `Bearer ${READ}` }, status: 404 },
      { url: '/api/v1/incidents?limit=0', path: '/api/v1/incidents', headers: { authorization: `Bearer ${READ}` }, status: 400 },
      { url: '/api/v1/incidents', path: '/api/v1/incidents', headers: {}, status: 401 },
    ];
    for (const c of cases) {
      const res = await server.inject({ url: c.url, headers: c.headers });
      expect(res.statusCode, c.url).toBe(c.status);
      expect(ErrorBody.safeParse(res.json()).success, res.body).toBe(true);
      expect(Object.keys(doc.paths[c.path]?.get?.responses ?? {})).toContain(String(c.status));
    }
    const found = await server.inject({ url: `/api/v1/incidents/${incidentId}`, headers: { authorization: `Bearer ${READ}` } });
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({ id: incidentId, notifications: [], kb: { id: 'oom-kill' } });
  });

  it('serves a self-contained docs page that loads only its own script', async () => {
    const page = await server.inject({ url: '/api/v1/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).not.toMatch(/<script>|https?:\/\//);
    const script = /<script src="([^"]+)"/.exec(page.body)?.[1];
    const js = await server.inject({ url: new URL(script ?? '', 'http://x/api/v1/docs').pathname });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toContain('javascript');
    expect(js.body).toContain("fetch('openapi.json')");
  });
});

describe('a route another engineer adds later', () => {
  it('is in the document with no change to the generator: params, body, scope, declared and automatic errors', async () => {
    const later = Fastify({ logger: false });
    // Unencapsulated, so a route registered after it sits where app.ts registers routes: inside it.
    await later.register(fp(app), { store: new SqliteIncidentStore(openDatabase(':memory:'), kb), kb, notifier, metrics: new MetricsRegistry(), tokens: [], health: async () => ({}) });
    await later.register(
      async (v1) => {
        const Params = z.object({ widgetId: z.string().max(10) });
        const Body = z.object({ size: z.number().int().min(1) });
        v1.post('/widgets/:widgetId', { config: { scope: 'admin' }, schema: { params: Params, body: Body, response: { 201: Body, 409: ErrorBody } } }, async () => ({ size: 1 }));
      },
      { prefix: '/api/v1' },
    );
    await later.ready();
    const op = (await later.inject({ url: '/api/v1/openapi.json' })).json().paths['/api/v1/widgets/{widgetId}']?.post as Operation;
    expect(op.parameters).toEqual([{ name: 'widgetId', in: 'path', required: true, schema: { type: 'string', maxLength: 10 } }]);
    expect(op.requestBody?.content['application/json']).toMatchObject({ schema: { properties: { size: { type: 'integer', minimum: 1 } }, required: ['size'] } });
    expect(op.security).toEqual([{ bearerAuth: ['admin'] }]);
    expect(Object.keys(op.responses)).toEqual(['201', '400', '401', '403', '404', '409', '413', '415', '500', '503']);
    await later.close();
  });
});

describe('bugs schemathesis found, answered as documented', () => {
  let booted: FastifyInstance;
  const admin = { authorization: `Bearer ${ADMIN}` };
  beforeAll(async () => {
    const store = new SqliteIncidentStore(openDatabase(':memory:'), kb);
    booted = await buildServer({ store, kb, notifier, metrics: new MetricsRegistry(), tokens: [{ name: 'admin', token: ADMIN, scope: 'admin' }], health: async () => ({}) });
  });
  afterAll(async () => booted?.close());

  it('a path parameter longer than Fastify\'s limit is a 400 ErrorBody, not a bare 414', async () => {
    const res = await booted.inject({ url: `/api/v1/kb/${'0'.repeat(101)}`, headers: admin });
    expect(res.statusCode).toBe(400);
    expect(ErrorBody.parse(res.json()).code).toBe('FP_BAD_REQUEST');
  });

  it('a silence ending after year 9999 is refused, not a 500 nor a silence the store cannot read back', async () => {
    for (const duration of ['20878738540342055441h', '6682821184m']) {
      const res = await booted.inject({ method: 'POST', url: '/api/v1/silences', headers: admin, payload: { matchers: { kb: 'oom-kill' }, duration, comment: 'fuzz' } });
      expect(res.statusCode, duration).toBe(400);
      expect(ErrorBody.parse(res.json()).message).toContain('duration');
    }
    const ok = await booted.inject({ method: 'POST', url: '/api/v1/silences', headers: admin, payload: { matchers: { kb: 'oom-kill' }, duration: '2h', comment: 'deploy' } });
    expect(ok.statusCode).toBe(201);
    expect((await booted.inject({ url: '/api/v1/silences', headers: admin })).json().silences).toHaveLength(1);
  });
});
