// Who the caller is (GET /api/v1/whoami) and browser sessions: a token exchanged once for a cookie,
// CSRF-checked writes, sign-out, on the real embedded store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { MetricsRegistry } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { buildServer } from '../../services/api/server.js';
import type { ApiToken } from '../../services/api/plugins/auth.js';
import { notifierWithoutReceivers, oomKillSignal } from '../support/api.js';

const ADMIN = 'session-admin-token-0123456789';
const READ = 'session-read-token-0123456789';
const kb = loadKnowledgeBase();

async function serverWith(tokens: ApiToken[]): Promise<{ server: FastifyInstance; incidentId: string }> {
  const db = openDatabase(':memory:');
  const store = new SqliteIncidentStore(db, kb);
  await store.apply([oomKillSignal()]);
  const server = await buildServer({ store, kb, metrics: new MetricsRegistry(), notifier: notifierWithoutReceivers(db, store, kb), tokens, health: async () => ({ store: { ok: true } }) });
  return { server, incidentId: (await store.search({ limit: 1 })).incidents[0]?.id ?? '' };
}

const tokens: ApiToken[] = [
  { name: 'admin', token: ADMIN, scope: 'admin' },
  { name: 'grafana', token: READ, scope: 'read' },
];
let server: FastifyInstance;
let incidentId: string;
beforeAll(async () => ({ server, incidentId } = await serverWith(tokens)));
afterAll(async () => server.close());

/** Signs in; returns the Cookie header a browser would send back, and the CSRF value. */
async function signIn(token: string, headers: Record<string, string> = {}) {
  const res = await server.inject({ method: 'POST', url: '/api/v1/session', payload: { token }, headers });
  const setCookies = [res.headers['set-cookie'] ?? []].flat();
  const cookie = setCookies.map((c) => c.split(';')[0]).join('; ');
  return { res, setCookies, cookie, csrf: (res.json() as { csrf?: string }).csrf ?? '' };
}

describe('GET /api/v1/whoami', () => {
  it('tells a bearer token its name and scope', async () => {
    const admin = await server.inject({ url: '/api/v1/whoami', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(admin.json()).toEqual({ name: 'admin', scope: 'admin', via: 'token' });
    const read = await server.inject({ url: '/api/v1/whoami', headers: { authorization: `Bearer ${READ}` } });
    expect(read.json()).toEqual({ name: 'grafana', scope: 'read', via: 'token' });
  });

  it('answers 401 with the registry code without a token', async () => {
    const res = await server.inject({ url: '/api/v1/whoami' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'FP_UNAUTHORIZED' });
  });

  it('is in the OpenAPI document with its response schema', async () => {
    const doc = (await server.inject({ url: '/api/v1/openapi.json' })).json();
    const op = doc.paths['/api/v1/whoami'].get;
    expect(op.responses['200'].content['application/json'].schema.properties.scope).toMatchObject({ enum: ['read', 'admin'] });
    expect(Object.keys(doc.paths['/api/v1/session'])).toEqual(expect.arrayContaining(['post', 'delete']));
  });
});

describe('browser sessions', () => {
  it('exchanges a token for an HttpOnly, SameSite=Strict session cookie and a readable CSRF cookie', async () => {
    const { res, setCookies, csrf } = await signIn(ADMIN);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'admin', scope: 'admin', csrf: expect.any(String), expiresAt: expect.any(String) });
    const session = setCookies.find((c) => c.startsWith('fineprint_session='));
    const csrfCookie = setCookies.find((c) => c.startsWith('fineprint_csrf='));
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Path=\//);
    expect(session).not.toMatch(/Secure/);
    expect(csrfCookie).toBe(`fineprint_csrf=${csrf}; Max-Age=604800; Path=/; SameSite=Strict`);
    expect(session).not.toContain(ADMIN);
  });

  it('marks the cookies Secure when the browser came over TLS', async () => {
    const { setCookies } = await signIn(ADMIN, { 'x-forwarded-proto': 'https' });
    expect(setCookies).toHaveLength(2);
    for (const c of setCookies) expect(c).toMatch(/; Secure/);
  });

  it('refuses an unknown token with 401 and sets no cookie', async () => {
    const { res } = await signIn('not-a-configured-token-at-all');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'FP_UNAUTHORIZED' });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('authenticates reads with the cookie alone (every tab of the browser)', async () => {
    const { cookie } = await signIn(READ);
    const whoami = await server.inject({ url: '/api/v1/whoami', headers: { cookie } });
    expect(whoami.statusCode).toBe(200);
    expect(whoami.json()).toMatchObject({ name: 'grafana', scope: 'read', via: 'session', sessionExpiresAt: expect.any(String) });
    const list = await server.inject({ url: '/api/v1/incidents', headers: { cookie } });
    expect(list.json().incidents).toHaveLength(1);
  });

  it('refuses a cookie-authenticated write without the CSRF header, or with a wrong one, and does nothing', async () => {
    const { cookie, csrf } = await signIn(ADMIN);
    const bare = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/ack`, headers: { cookie } });
    expect(bare.statusCode).toBe(403);
    expect(bare.json()).toMatchObject({ code: 'FP_CSRF', message: expect.stringContaining('x-fineprint-csrf') });
    const wrong = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/ack`, headers: { cookie, 'x-fineprint-csrf': `${csrf.slice(1)}x` } });
    expect(wrong.statusCode).toBe(403);
    // Another session's CSRF value is not this one's.
    const other = await signIn(ADMIN);
    const crossed = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/ack`, headers: { cookie, 'x-fineprint-csrf': other.csrf } });
    expect(crossed.statusCode).toBe(403);
    const detail = await server.inject({ url: `/api/v1/incidents/${incidentId}`, headers: { cookie } });
    expect(detail.json().status).toBe('open');
  });

  it('accepts a cookie-authenticated write with its CSRF header, recorded under the token name', async () => {
    const { cookie, csrf } = await signIn(ADMIN);
    const ack = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/ack`, headers: { cookie, 'x-fineprint-csrf': csrf } });
    expect(ack.statusCode).toBe(200);
    expect(ack.json()).toMatchObject({ status: 'acknowledged', acknowledged: { by: 'admin' } });
  });

  it('keeps a read token\'s session to read scope', async () => {
    const { cookie, csrf } = await signIn(READ);
    const res = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/resolve`, headers: { cookie, 'x-fineprint-csrf': csrf } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FP_FORBIDDEN' });
  });

  it('refuses a tampered cookie, and a cookie sealed by a token the server no longer has', async () => {
    const { cookie } = await signIn(READ);
    const value = cookie.split('; ')[0]!.slice('fineprint_session='.length);
    const [name, expires, nonce, seal] = value.split('.');
    const adminName = Buffer.from('admin').toString('base64url');
    for (const forged of [`${adminName}.${expires}.${nonce}.${seal}`, `${name}.${(Date.now() + 1e12).toString(36)}.${nonce}.${seal}`, `${name}.${expires}.${nonce}.${seal}x`]) {
      const res = await server.inject({ url: '/api/v1/whoami', headers: { cookie: `fineprint_session=${forged}` } });
      expect(res.statusCode, forged).toBe(401);
    }
    const rotated = await serverWith([{ name: 'grafana', token: 'a-new-read-token-0123456789', scope: 'read' }]);
    try {
      const res = await rotated.server.inject({ url: '/api/v1/whoami', headers: { cookie } });
      expect(res.statusCode).toBe(401);
      expect(res.json().message).toContain('sign in again');
    } finally {
      await rotated.server.close();
    }
  });

  it('signs the browser out: DELETE clears both cookies', async () => {
    const res = await server.inject({ method: 'DELETE', url: '/api/v1/session' });
    expect(res.statusCode).toBe(204);
    const cleared = [res.headers['set-cookie'] ?? []].flat();
    expect(cleared.map((c) => c.split(';')[0])).toEqual(['fineprint_session=', 'fineprint_csrf=']);
    for (const c of cleared) expect(c).toContain('Max-Age=0');
  });

  it('still takes a bearer token over a cookie, and bearer writes need no CSRF header', async () => {
    const { cookie } = await signIn(READ);
    const res = await server.inject({ method: 'POST', url: `/api/v1/incidents/${incidentId}/resolve`, headers: { cookie, authorization: `Bearer ${ADMIN}` } });
    expect(res.statusCode).toBe(200);
  });
});
