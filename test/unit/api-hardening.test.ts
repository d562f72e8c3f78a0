import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { MetricsRegistry } from '../../shared/metrics.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { apiConfig } from '../../services/api/config.js';
import { buildServer } from '../../services/api/server.js';
import { resolveAdminToken } from '../../services/api/token.js';
import { notifierWithoutReceivers, oomKillSignal } from '../support/api.js';

const TOKEN = 'test-admin-token-0123456789';
const READ_TOKEN = 'read=token=with=equals=signs';
const kb = loadKnowledgeBase();
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'fineprint-hardening-'));
  dirs.push(dir);
  return dir;
};
const mode = (path: string) => statSync(path).mode & 0o777;
let server: FastifyInstance;

beforeAll(async () => {
  const db = openDatabase(':memory:');
  const store = new SqliteIncidentStore(db, kb);
  await store.apply([oomKillSignal()]);
  server = await buildServer({
    store,
    kb,
    metrics: new MetricsRegistry(),
    notifier: notifierWithoutReceivers(db, store, kb),
    tokens: [
      { name: 'admin', token: TOKEN, scope: 'admin' },
      { name: 'grafana', token: READ_TOKEN, scope: 'read' },
    ],
    allowedHosts: ['fineprint.internal.example'],
    health: async () => ({}),
  });
});
afterAll(async () => {
  await server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };

describe('every response tells browsers not to sniff its type', () => {
  it('JSON, the docs page, errors and unknown routes', async () => {
    const responses = await Promise.all([
      server.inject({ url: '/api/v1/incidents', headers: auth }),
      server.inject({ url: '/api/v1/docs' }),
      server.inject({ url: '/api/v1/incidents' }),
      server.inject({ url: '/api/v1/incidents?limit=0', headers: auth }),
      server.inject({ url: '/no/such/route' }),
      server.inject({ url: '/healthz' }),
    ]);
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 401, 400, 404, 200]);
    for (const res of responses) expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('DNS rebinding: only configured host names, IP addresses and localhost are answered', () => {
  it('a foreign Host gets 421 FP_HOST_NOT_ALLOWED, on public routes too, before auth', async () => {
    for (const url of ['/healthz', '/metrics', '/api/v1/docs', '/api/v1/incidents']) {
      const res = await server.inject({ url, headers: { host: 'attacker.example:7777', ...auth } });
      expect(res.statusCode, url).toBe(421);
      expect(res.json()).toMatchObject({ code: 'FP_HOST_NOT_ALLOWED', message: expect.stringContaining('FINEPRINT_ALLOWED_HOSTS') });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers loopback names, IP addresses and the allowed names', async () => {
    for (const host of ['127.0.0.1:7777', 'localhost', 'LOCALHOST:80', '[::1]:7777', '10.1.2.3', 'fineprint.internal.example:443', 'Fineprint.Internal.Example.']) {
      expect((await server.inject({ url: '/healthz', headers: { host } })).statusCode, host).toBe(200);
    }
  });

  it('FINEPRINT_ALLOWED_HOSTS is a comma-separated list', () => {
    const config = loadConfig(apiConfig, { FINEPRINT_ALLOWED_HOSTS: 'a.example, B.example ,' });
    expect(config.FINEPRINT_ALLOWED_HOSTS).toEqual(['a.example', 'b.example']);
  });
});

describe('tokens', () => {
  it('a read token containing "=" works whole: the name ends at the first "="', async () => {
    const config = loadConfig(apiConfig, { FINEPRINT_READ_TOKENS: `grafana=${READ_TOKEN}, c2VjcmV0LXNlY3JldC1zZWNyZXQ==` });
    expect(config.FINEPRINT_READ_TOKENS).toEqual([
      { name: 'grafana', token: READ_TOKEN, scope: 'read' },
      { name: 'read-2', token: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ==', scope: 'read' },
    ]);
    expect((await server.inject({ url: '/api/v1/incidents', headers: { authorization: `Bearer ${READ_TOKEN}` } })).statusCode).toBe(200);
  });

  it('a bad token setting is reported by position, never with the token in the message', () => {
    const secret = 'shortsecret';
    let message = '';
    try {
      loadConfig(apiConfig, { FINEPRINT_READ_TOKENS: `${secret}=x, ok=${'k'.repeat(20)}, ${secret}2` });
    } catch (error) {
      message = `${(error as Error).message} ${JSON.stringify((error as { details?: unknown }).details)}`;
    }
    expect(message).toContain('FINEPRINT_READ_TOKENS: entry 1');
    expect(message).toContain('entry 3');
    expect(message).not.toContain(secret);
  });

  it('a token that is a prefix or an extension of a real one is refused', async () => {
    for (const presented of [TOKEN.slice(0, -1), `${TOKEN}x`, READ_TOKEN.slice(0, 16)]) {
      expect((await server.inject({ url: '/api/v1/incidents', headers: { authorization: `Bearer ${presented}` } })).statusCode).toBe(401);
    }
  });
});

describe('files in the data dir are private from creation', () => {
  it('the data dir is 0700; the database and its -wal and -shm files 0600', () => {
    const dataDir = join(tempDir(), 'data');
    const path = join(dataDir, 'fineprint.db');
    const db = openDatabase(path);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    expect(mode(dataDir)).toBe(0o700);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(mode(file), file).toBe(0o600);
    db.close();
  });

  it('the admin token file is 0600, even when it replaces an older, readable one', () => {
    const dataDir = join(tempDir(), 'data');
    const first = resolveAdminToken(undefined, dataDir);
    expect(first.generated).toBe(true);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'admin-token'))).toBe(0o600);

    const old = tempDir();
    writeFileSync(join(old, 'admin-token'), 'short\n', { mode: 0o644 });
    const replaced = resolveAdminToken(undefined, old);
    expect(replaced.generated).toBe(true);
    expect(mode(join(old, 'admin-token'))).toBe(0o600);
    expect(readFileSync(join(old, 'admin-token'), 'utf8').trim()).toBe(replaced.token);
  });
});
