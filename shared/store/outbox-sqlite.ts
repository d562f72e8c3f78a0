import type { Incident } from '../incident.js';
import {
  observedState,
  type DeliveryStatus,
  type DigestKey,
  type FlushResult,
  type GroupMember,
  type GroupPlan,
  type NotificationEvent,
  type NotificationOutbox,
  type NotifyGroup,
  type QueuedDelivery,
} from '../notification.js';
import type { SqliteDatabase } from '../sqlite.js';

/**
 * The notification outbox in SQLite (the all-in-one's database): what was last observed of each
 * incident, the groups waiting to be flushed with what each member was last notified as, the
 * deliveries and the lease. Every change is one transaction, so a crash or a restart neither loses
 * a queued delivery nor queues one twice.
 */

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const SCHEMA = `
CREATE TABLE IF NOT EXISTS notify_incidents (
  id TEXT PRIMARY KEY,
  snapshot TEXT NOT NULL,
  incident TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  changed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notify_groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  receiver TEXT NOT NULL,
  route INTEGER NOT NULL,
  key TEXT NOT NULL,
  episode TEXT NOT NULL,
  first_sent_at INTEGER,
  last_sent_at INTEGER,
  next_flush_at INTEGER NOT NULL,
  UNIQUE (receiver, route, key)
);
CREATE INDEX IF NOT EXISTS notify_groups_due ON notify_groups (next_flush_at);
CREATE TABLE IF NOT EXISTS notify_members (
  group_id INTEGER NOT NULL REFERENCES notify_groups (id) ON DELETE CASCADE,
  incident_id TEXT NOT NULL,
  notified TEXT,
  PRIMARY KEY (group_id, incident_id)
);
CREATE TABLE IF NOT EXISTS notify_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_key TEXT NOT NULL,
  receiver TEXT NOT NULL,
  type TEXT NOT NULL,
  event TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_attempt_at INTEGER,
  sent_at INTEGER,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS notify_outbox_pending ON notify_outbox (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS notify_delivery_incidents (
  incident_id TEXT NOT NULL,
  delivery_id INTEGER NOT NULL,
  PRIMARY KEY (incident_id, delivery_id)
);
CREATE TABLE IF NOT EXISTS notify_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notify_risk_digests (route INTEGER NOT NULL, receiver TEXT NOT NULL, host TEXT NOT NULL, queued_at INTEGER NOT NULL, PRIMARY KEY (route, receiver, host));
CREATE TABLE IF NOT EXISTS notify_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL);
`;

export class SqliteOutbox implements NotificationOutbox {
  constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
  }

  async claimLease(holder: string, now: number, ms: number): Promise<boolean> {
    return this.db.transaction(() => {
      const lease = this.db.prepare(`SELECT holder, expires_at FROM notify_lease WHERE name = 'delivery'`).get() as { holder: string; expires_at: number } | undefined;
      if (lease && lease.holder !== holder && lease.expires_at > now) return false;
      this.db.prepare(`INSERT OR REPLACE INTO notify_lease (name, holder, expires_at) VALUES ('delivery', ?, ?)`).run(holder, now + ms);
      return true;
    }).immediate();
  }

  async releaseLease(holder: string): Promise<void> {
    this.db.prepare(`DELETE FROM notify_lease WHERE name = 'delivery' AND holder = ?`).run(holder);
  }

  async highWater(now: number): Promise<number> {
    return this.highWaterNow(now);
  }

  private highWaterNow(now: number): number {
    const row = this.db.prepare(`SELECT value FROM notify_meta WHERE key = 'high_water'`).get() as { value: string } | undefined;
    if (row) return Number(row.value);
    this.db.prepare(`INSERT INTO notify_meta (key, value) VALUES ('high_water', ?)`).run(String(now));
    return now;
  }

  async observe(incidents: readonly Incident[], plan: (incident: Incident) => GroupPlan[], now: number): Promise<number> {
    const getState = this.db.prepare(`SELECT snapshot, updated_at FROM notify_incidents WHERE id = ?`);
    const putState = this.db.prepare(
      `INSERT INTO notify_incidents (id, snapshot, incident, updated_at, changed_at) VALUES (@id, @snapshot, @incident, @updatedAt, @now)
       ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, incident = excluded.incident, updated_at = excluded.updated_at, changed_at = excluded.changed_at`,
    );
    const getGroup = this.db.prepare(`SELECT id, last_sent_at, next_flush_at FROM notify_groups WHERE receiver = ? AND route = ? AND key = ?`);
    const insertGroup = this.db.prepare(`INSERT INTO notify_groups (receiver, route, key, episode, next_flush_at) VALUES (?, ?, ?, ?, ?)`);
    const setFlush = this.db.prepare(`UPDATE notify_groups SET next_flush_at = ? WHERE id = ?`);
    const addMember = this.db.prepare(`INSERT OR IGNORE INTO notify_members (group_id, incident_id) VALUES (?, ?)`);
    const hasMember = this.db.prepare(`SELECT 1 FROM notify_members WHERE incident_id = ? LIMIT 1`);
    const setHighWater = this.db.prepare(`UPDATE notify_meta SET value = MAX(CAST(value AS INTEGER), ?) WHERE key = 'high_water'`);
    return this.db.transaction(() => {
      let changed = 0;
      let newest = 0;
      for (const incident of incidents) {
        const updatedAt = Date.parse(incident.updatedAt);
        newest = Math.max(newest, updatedAt);
        const previous = getState.get(incident.id) as { snapshot: string; updated_at: number } | undefined;
        const current = observedState(incident);
        // Same state, or an older read (the catch-up at start racing the live pipeline): nothing new.
        if (previous && (previous.snapshot === current || updatedAt < previous.updated_at)) continue;
        putState.run({ id: incident.id, snapshot: current, incident: JSON.stringify(incident), updatedAt, now });
        changed++;
        // A resolved incident nobody was told about, and none in a group, is nothing to notify.
        if (incident.status === 'resolved' && !hasMember.get(incident.id)) continue;
        for (const p of plan(incident)) {
          const group = getGroup.get(p.receiver, p.route, p.key) as { id: number; last_sent_at: number | null; next_flush_at: number } | undefined;
          if (!group) {
            if (incident.status === 'resolved') continue;
            const id = Number(insertGroup.run(p.receiver, p.route, p.key, incident.id, now + p.waitMs).lastInsertRowid);
            addMember.run(id, incident.id);
            continue;
          }
          addMember.run(group.id, incident.id);
          // Never sent (in group_wait, or all silenced so far): the first flush waits group_wait at
          // most; afterwards a change waits group_interval after the last notification.
          const due = group.last_sent_at === null ? now + p.waitMs : Math.max(now, group.last_sent_at + p.intervalMs);
          setFlush.run(Math.min(group.next_flush_at, due), group.id);
        }
      }
      this.highWaterNow(now);
      if (newest > 0) setHighWater.run(newest);
      return changed;
    })();
  }

  async dueGroups(now: number, limit = 50): Promise<NotifyGroup[]> {
    const rows = this.db
      .prepare(`SELECT id, receiver, route, key, episode, first_sent_at, last_sent_at, next_flush_at FROM notify_groups WHERE next_flush_at <= ? ORDER BY next_flush_at LIMIT ?`)
      .all(now, limit) as Array<{ id: number; receiver: string; route: number; key: string; episode: string; first_sent_at: number | null; last_sent_at: number | null; next_flush_at: number }>;
    return rows.map((r) => ({ id: String(r.id), receiver: r.receiver, route: r.route, key: r.key, episode: r.episode, firstSentAt: r.first_sent_at, lastSentAt: r.last_sent_at, nextFlushAt: r.next_flush_at }));
  }

  async members(group: NotifyGroup): Promise<GroupMember[]> {
    const rows = this.db
      .prepare(`SELECT i.incident, m.notified FROM notify_members m JOIN notify_incidents i ON i.id = m.incident_id WHERE m.group_id = ? ORDER BY i.id`)
      .all(Number(group.id)) as Array<{ incident: string; notified: string | null }>;
    return rows.map((r) => ({ incident: JSON.parse(r.incident) as Incident, notified: r.notified }));
  }

  async commitFlush(group: NotifyGroup, result: FlushResult, now: number): Promise<void> {
    const id = Number(group.id);
    const insert = this.db.prepare(
      `INSERT INTO notify_outbox (group_key, receiver, type, event, body, state, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const link = this.db.prepare(`INSERT OR IGNORE INTO notify_delivery_incidents (incident_id, delivery_id) VALUES (?, ?)`);
    const setNotified = this.db.prepare(`UPDATE notify_members SET notified = ? WHERE group_id = ? AND incident_id = ?`);
    const remove = this.db.prepare(`DELETE FROM notify_members WHERE group_id = ? AND incident_id = ?`);
    const groupKey = `${group.receiver}\u0000${group.route}\u0000${group.key}`;
    this.db.transaction(() => {
      // The group as this flush read it: a flush already committed changed it, so this one queues nothing.
      const current = this.db.prepare(`SELECT next_flush_at FROM notify_groups WHERE id = ?`).get(id) as { next_flush_at: number } | undefined;
      if (current?.next_flush_at !== group.nextFlushAt) return;
      for (const d of result.deliveries) {
        const deliveryId = Number(insert.run(groupKey, group.receiver, d.type, d.event, d.body, d.state, now, now).lastInsertRowid);
        for (const incidentId of d.incidentIds) link.run(incidentId, deliveryId);
      }
      for (const [incidentId, state] of result.notified) setNotified.run(state, id, incidentId);
      for (const incidentId of result.remove) remove.run(id, incidentId);
      if (result.nextFlushAt === null) {
        this.db.prepare(`DELETE FROM notify_groups WHERE id = ?`).run(id);
      } else {
        this.db
          .prepare(
            `UPDATE notify_groups SET next_flush_at = ?, first_sent_at = COALESCE(first_sent_at, ?), last_sent_at = CASE WHEN ? THEN ? ELSE last_sent_at END WHERE id = ?`,
          )
          .run(result.nextFlushAt, result.sent ? now : null, result.sent ? 1 : 0, now, id);
      }
    })();
  }

  async digestQueuedAt({ route, receiver, host }: DigestKey): Promise<number | undefined> {
    const row = this.db.prepare(`SELECT queued_at FROM notify_risk_digests WHERE route = ? AND receiver = ? AND host = ?`).get(route, receiver, host) as { queued_at: number } | undefined;
    return row?.queued_at;
  }

  async enqueueDigest({ route, receiver, host }: DigestKey, type: string, body: string, now: number): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO notify_outbox (group_key, receiver, type, event, body, state, created_at, next_attempt_at) VALUES (?, ?, ?, 'trigger', ?, 'pending', ?, ?)`)
        .run(`risk-digest\u0000${receiver}\u0000${route}\u0000${host}`, receiver, type, body, now, now);
      this.db.prepare(`INSERT OR REPLACE INTO notify_risk_digests (route, receiver, host, queued_at) VALUES (?, ?, ?, ?)`).run(route, receiver, host, now);
    })();
  }

  async due(now: number, skip: ReadonlySet<string>, limit: number): Promise<QueuedDelivery[]> {
    const rows = this.db
      .prepare(
        `SELECT id, group_key, receiver, type, event, body, attempts, created_at FROM notify_outbox o
         WHERE state = 'pending' AND next_attempt_at <= ?
           AND NOT EXISTS (SELECT 1 FROM notify_outbox p WHERE p.state = 'pending' AND p.group_key = o.group_key AND p.id < o.id)
         ORDER BY id LIMIT ?`,
      )
      .all(now, limit + skip.size) as Array<{ id: number; group_key: string; receiver: string; type: string; event: NotificationEvent; body: string; attempts: number; created_at: number }>;
    return rows
      .filter((r) => !skip.has(String(r.id)))
      .slice(0, limit)
      .map((r) => ({ id: String(r.id), groupKey: r.group_key, receiver: r.receiver, type: r.type, event: r.event, body: r.body, attempts: r.attempts, createdAt: r.created_at }));
  }

  async markSent(id: string, now: number): Promise<void> {
    this.db.prepare(`UPDATE notify_outbox SET state = 'sent', attempts = attempts + 1, last_attempt_at = ?, sent_at = ?, last_error = NULL WHERE id = ?`).run(now, now, Number(id));
  }

  async markFailed(id: string, now: number, error: string, retryAt: number | null): Promise<void> {
    this.db
      .prepare(`UPDATE notify_outbox SET state = ?, attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`)
      .run(retryAt === null ? 'failed' : 'pending', now, retryAt ?? now, error.slice(0, 1000), Number(id));
  }

  async postpone(id: string, at: number): Promise<void> {
    this.db.prepare(`UPDATE notify_outbox SET next_attempt_at = ? WHERE id = ?`).run(at, Number(id));
  }

  async pendingCount(): Promise<number> {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM notify_outbox WHERE state = 'pending'`).get() as { n: number }).n;
  }

  async deliveries(incidentId: string, limit = 100): Promise<DeliveryStatus[]> {
    const rows = this.db
      .prepare(
        `SELECT o.receiver, o.type, o.event, o.state, o.attempts, o.last_attempt_at, o.sent_at, o.last_error
         FROM notify_delivery_incidents d JOIN notify_outbox o ON o.id = d.delivery_id
         WHERE d.incident_id = ? ORDER BY o.id DESC LIMIT ?`,
      )
      .all(incidentId, limit) as Array<{ receiver: string; type: string; event: NotificationEvent; state: DeliveryStatus['state']; attempts: number; last_attempt_at: number | null; sent_at: number | null; last_error: string | null }>;
    return rows.map((r) => ({
      receiver: r.receiver,
      type: r.type,
      event: r.event,
      state: r.state,
      attempts: r.attempts,
      lastAttemptAt: iso(r.last_attempt_at),
      sentAt: iso(r.sent_at),
      lastError: r.last_error,
    }));
  }

  async prune(before: number): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM notify_delivery_incidents WHERE delivery_id IN (SELECT id FROM notify_outbox WHERE state <> 'pending' AND created_at < ?)`).run(before);
      this.db.prepare(`DELETE FROM notify_outbox WHERE state <> 'pending' AND created_at < ?`).run(before);
      this.db
        .prepare(`DELETE FROM notify_incidents WHERE changed_at < ? AND snapshot LIKE 'resolved|%' AND id NOT IN (SELECT incident_id FROM notify_members)`)
        .run(before);
    })();
  }
}
