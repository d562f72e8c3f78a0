import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startRetention } from '../../services/api/retention.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { openDatabase } from '../../shared/sqlite.js';
import { IncidentQuery } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';
import { usedBytes } from '../../shared/store/sqlite-retention.js';
import { StatsQuery } from '../../shared/store/stats.js';
import { waitFor } from '../support/docker.js';
import { oomSignal } from '../support/incident-updates.js';

const kb = loadKnowledgeBase();
const DAY = 86_400_000;

const oom = (name: string, ts: number): IncidentUpdate => oomSignal(name, ts);

describe('retention sweep on the real embedded store', () => {
  it('deletes an incident resolved longer ago than the retention and keeps one resolved since', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteIncidentStore(db, kb);
    const now = Date.now();
    await store.apply([oom('old', now - 3 * DAY), oom('fresh', now - 3 * DAY)]);
    await store.resolve('p-old', { by: 'bob', at: new Date(now - 2 * DAY).toISOString(), auto: false });
    await store.resolve('p-fresh', { by: 'bob', at: new Date(now - DAY / 2).toISOString(), auto: false });
    const sweep = startRetention({ store, log: createLogger('test', 'fatal'), retentionMs: DAY, intervalMs: 20 });
    try {
      const names = async () => (await store.search(IncidentQuery.parse({}))).incidents.map((i) => i.container?.name);
      await waitFor(async () => ((await names()).length === 1 ? true : undefined), 10_000, 'the old incident to be deleted', 20);
      expect(await names()).toEqual(['fresh']);
      expect(await store.get('p-old')).toBeUndefined();
    } finally {
      await sweep.stop();
      db.close();
    }
  });
});

describe('retention by size on the real embedded store', () => {
  it('deletes the incidents resolved longest ago until the database is under its size, keeps the rest, and gives the space back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-size-'));
    const path = join(dir, 'fineprint.db');
    // A database made before auto_vacuum was set: its free pages stay in the file until converted.
    new Database(path).exec('PRAGMA auto_vacuum = NONE; CREATE TABLE made_before (x)');
    const db = openDatabase(path);
    try {
      const now = Date.now();
      const filed = new SqliteIncidentStore(db, kb);
      // 120 resolved incidents (oldest resolution first), then 20 open ones older than all of them.
      const flood = (name: string, ts: number): IncidentUpdate[] => {
        const signal = oom(name, ts) as Extract<IncidentUpdate, { op: 'signal' }>;
        return Array.from({ length: 8 }, (_, n) => ({ ...signal, evidence: { ...signal.evidence, eventId: `e-${name}-${n}`, ts: ts + n, message: `container oom ${name} ${'x'.repeat(2000)}` } }));
      };
      for (let i = 0; i < 120; i += 1) {
        await filed.apply(flood(`r${i}`, now - 3 * DAY + i * 60_000));
        await filed.resolve(`p-r${i}`, { by: 'bob', at: new Date(now - 2 * DAY + i * 60_000).toISOString(), auto: false });
      }
      for (let i = 0; i < 20; i += 1) await filed.apply(flood(`o${i}`, now - 4 * DAY + i * 60_000));
      db.pragma('wal_checkpoint(TRUNCATE)');
      const before = statSync(path).size;
      const maxBytes = Math.floor(usedBytes(db) * 0.6);

      const store = new SqliteIncidentStore(db, kb, { maxBytes });
      const expired = await store.expire(now, 90 * DAY);
      db.pragma('wal_checkpoint(TRUNCATE)');
      expect(expired.incidents).toBeGreaterThan(0);
      expect(usedBytes(db)).toBeLessThanOrEqual(maxBytes);
      expect(statSync(path).size).toBeLessThanOrEqual(maxBytes);
      expect(statSync(path).size).toBeLessThan(before);
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);

      // The oldest resolutions went, nothing else: search, facets, stats and get all agree.
      const names = (await store.search(IncidentQuery.parse({ limit: 500 }))).incidents.map((i) => i.container?.name ?? '');
      const resolvedLeft = Array.from({ length: 120 }, (_, i) => `r${i}`).slice(expired.incidents);
      expect(names.sort()).toEqual([...resolvedLeft, ...Array.from({ length: 20 }, (_, i) => `o${i}`)].sort());
      const facets = await store.facets(IncidentQuery.parse({}));
      expect(facets.total).toBe(names.length);
      expect(facets.status).toEqual([{ value: 'resolved', count: resolvedLeft.length }, { value: 'open', count: 20 }].sort((a, b) => b.count - a.count || a.value.localeCompare(b.value)));
      expect((await store.stats(StatsQuery.parse({ from: String(now - 5 * DAY) }))).total).toBe(names.length);
      expect(await store.get('p-r0')).toBeUndefined();
      expect((await store.get(`p-${resolvedLeft[0]}`))?.evidence).toHaveLength(8);
      expect(await store.search(IncidentQuery.parse({ q: 'r0' }))).toMatchObject({ incidents: [] });
      // Under the size now: the next sweep deletes nothing.
      expect(await store.expire(now, 90 * DAY)).toEqual({ incidents: 0, silences: 0 });
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
