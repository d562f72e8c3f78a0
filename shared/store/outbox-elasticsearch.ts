import { createHash } from 'node:crypto';
import { Client, type estypes } from '@elastic/elasticsearch';
import { FineprintError, isNotFound } from '../errors.js';
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
import { throwOnErrors, unavailable } from './elasticsearch/requests.js';

/*
 * The notification outbox in Elasticsearch, shared by every API replica of the distributed mode:
 * one index `P-notify` of small documents (the lease, the high-water mark, each observed incident,
 * group, member, delivery and risk digest), each with a deterministic id. One notifier writes at a
 * time, the lease's holder (services/api/notify/index.ts): the lease itself is taken with a
 * conditional write (`if_seq_no`/`if_primary_term`, or a create), so two replicas never hold it at
 * once. Elasticsearch has no transaction across documents: every write is ordered so that a holder
 * dying half-way leaves what its successor redoes without doubling anything (a flush's deliveries
 * are created under ids of that flush, so committing it again creates none).
 */

/** Documents one read loads at most: open groups, their members, pending deliveries. */
const MAX_READ = 10_000;
const LEASE_ID = 'lease';
const HIGH_WATER_ID = 'high-water';

type Kind = 'lease' | 'meta' | 'incident' | 'group' | 'member' | 'delivery' | 'digest';

interface NotifyDoc {
  kind: Kind;
  /** member: its group's id; delivery: its group key (deliveries of one go out in order). */
  group?: string;
  /** incident, member: the incident id. */
  incident?: string;
  /** delivery: the incidents it tells of. */
  incidents?: string[];
  /** incident: its status; delivery: pending, sent, failed, silenced. */
  state?: string;
  /** group: next flush; delivery: next attempt (ms). */
  due?: number;
  /** delivery: queue order. */
  order?: number;
  /** incident: when its state last changed; delivery: when queued (ms). What pruning reads. */
  changed?: number;
  body: Record<string, unknown>;
}

interface GroupBody {
  receiver: string;
  route: number;
  key: string;
  episode: string;
  firstSentAt: number | null;
  lastSentAt: number | null;
}

interface DeliveryBody {
  receiver: string;
  type: string;
  event: NotificationEvent;
  body: string;
  attempts: number;
  createdAt: number;
  lastAttemptAt: number | null;
  sentAt: number | null;
  lastError: string | null;
}

const keyword = { type: 'keyword' } as const;
const long = { type: 'long' } as const;

const hash = (...parts: Array<string | number>): string => createHash('sha256').update(parts.join('\u0000')).digest('base64url');
const incidentDocId = (incidentId: string): string => `i:${hash(incidentId)}`;
const groupDocId = (receiver: string, route: number, key: string): string => `g:${hash(receiver, route, key)}`;
const memberDocId = (groupId: string, incidentId: string): string => `m:${hash(groupId, incidentId)}`;
const digestDocId = ({ route, receiver, host }: DigestKey): string => `r:${hash(route, receiver, host)}`;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const isConflict = (error: unknown): boolean => (error as { meta?: { statusCode?: number } }).meta?.statusCode === 409;

export interface ElasticsearchOutboxOptions {
  /** Elasticsearch URL (FINEPRINT_ELASTICSEARCH_URL). */
  url: string;
  /** The store's index prefix: the outbox lives in `<prefix>-notify`. */
  indexPrefix: string;
  /** Timeout of each request in ms (default 10 000). */
  requestTimeout?: number;
}

export class ElasticsearchOutbox implements NotificationOutbox {
  private readonly timeout: { requestTimeout: number };

  constructor(
    private readonly client: Client,
    readonly index: string,
    requestTimeout = 10_000,
  ) {
    this.timeout = { requestTimeout };
  }

  /** Creates the index (idempotent). */
  async install(): Promise<void> {
    try {
      await this.client.indices.create(
        {
          index: this.index,
          settings: { number_of_shards: 1, auto_expand_replicas: '0-1', refresh_interval: '1s' },
          mappings: {
            dynamic: 'strict',
            properties: { kind: keyword, group: keyword, incident: keyword, incidents: keyword, state: keyword, due: long, order: long, changed: long, body: { type: 'object', enabled: false } },
          },
        },
        this.timeout,
      );
    } catch (error) {
      const type = (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
      if (type !== 'resource_already_exists_exception') throw error;
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** Runs one operation; its failures are FP_STORE_UNAVAILABLE. */
  private async run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw unavailable(`notification outbox: ${what}`, error);
    }
  }

  private async getDoc(id: string): Promise<{ doc: NotifyDoc; seqNo: number; primaryTerm: number } | undefined> {
    try {
      const res = await this.client.get<NotifyDoc>({ index: this.index, id }, this.timeout);
      return res._source ? { doc: res._source, seqNo: res._seq_no ?? 0, primaryTerm: res._primary_term ?? 0 } : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async getDocs(ids: readonly string[]): Promise<Map<string, NotifyDoc>> {
    const found = new Map<string, NotifyDoc>();
    if (ids.length === 0) return found;
    const res = await this.client.mget<NotifyDoc>({ index: this.index, ids: [...new Set(ids)] }, this.timeout);
    for (const d of res.docs) if ('found' in d && d.found && d._source) found.set(d._id, d._source);
    return found;
  }

  private async searchDocs(query: estypes.QueryDslQueryContainer, sort: estypes.Sort = [], size = MAX_READ, excludes: string[] = []): Promise<Array<{ id: string; doc: NotifyDoc }>> {
    const res = await this.client.search<NotifyDoc>({ index: this.index, query, sort, size, track_total_hits: false, _source_excludes: excludes }, this.timeout);
    return res.hits.hits.flatMap((h) => (h._source ? [{ id: h._id ?? '', doc: h._source }] : []));
  }

  /**
   * Writes a bulk, visible to the next search unless `searched` is false (documents only ever read
   * by id: a get is real-time); a `create` of what exists is no failure.
   */
  private async bulk(what: string, operations: unknown[], searched = true): Promise<void> {
    if (operations.length === 0) return;
    const res = await this.client.bulk({ index: this.index, operations, refresh: searched }, this.timeout);
    if (!res.errors) return;
    throwOnErrors(what, { ...res, items: res.items.filter((item) => item.create?.status !== 409) });
  }

  async claimLease(holder: string, now: number, ms: number): Promise<boolean> {
    return this.run('claimLease', async () => {
      const lease = await this.getDoc(LEASE_ID);
      const body = lease?.doc.body as { holder: string; until: number } | undefined;
      if (body && body.holder !== holder && body.until > now) return false;
      const document: NotifyDoc = { kind: 'lease', body: { holder, until: now + ms } };
      try {
        await this.client.index(
          lease
            ? { index: this.index, id: LEASE_ID, document, if_seq_no: lease.seqNo, if_primary_term: lease.primaryTerm }
            : { index: this.index, id: LEASE_ID, document, op_type: 'create' },
          this.timeout,
        );
        return true;
      } catch (error) {
        // Another replica wrote the lease since it was read: it holds it now.
        if (isConflict(error)) return false;
        throw error;
      }
    });
  }

  async releaseLease(holder: string): Promise<void> {
    await this.run('releaseLease', async () => {
      const lease = await this.getDoc(LEASE_ID);
      if ((lease?.doc.body as { holder?: string } | undefined)?.holder !== holder || !lease) return;
      try {
        await this.client.delete({ index: this.index, id: LEASE_ID, if_seq_no: lease.seqNo, if_primary_term: lease.primaryTerm }, this.timeout);
      } catch (error) {
        if (!isConflict(error) && !isNotFound(error)) throw error;
      }
    });
  }

  async highWater(now: number): Promise<number> {
    return this.run('highWater', async () => {
      const meta = await this.getDoc(HIGH_WATER_ID);
      if (meta) return meta.doc.body.value as number;
      await this.bulk('highWater', [{ create: { _id: HIGH_WATER_ID } }, { kind: 'meta', body: { value: now } }]);
      return ((await this.getDoc(HIGH_WATER_ID))?.doc.body.value as number | undefined) ?? now;
    });
  }

  async observe(incidents: readonly Incident[], plan: (incident: Incident) => GroupPlan[], now: number): Promise<number> {
    if (incidents.length === 0) return 0;
    return this.run('observe', async () => {
      const stored = await this.getDocs(incidents.map((i) => incidentDocId(i.id)));
      const states = new Map<string, { snapshot: string; updatedAt: number }>();
      for (const doc of stored.values()) states.set(doc.incident ?? '', { snapshot: doc.body.snapshot as string, updatedAt: doc.body.updatedAt as number });
      const changed: Array<{ incident: Incident; plans: GroupPlan[] }> = [];
      let newest = 0;
      for (const incident of incidents) {
        const updatedAt = Date.parse(incident.updatedAt);
        newest = Math.max(newest, updatedAt);
        const previous = states.get(incident.id);
        const current = observedState(incident);
        // Same state, or an older read (a poll racing the live pipeline): nothing new.
        if (previous && (previous.snapshot === current || updatedAt < previous.updatedAt)) continue;
        states.set(incident.id, { snapshot: current, updatedAt });
        changed.push({ incident, plans: plan(incident) });
      }
      const high = await this.getDoc(HIGH_WATER_ID);
      const highWater = Math.max((high?.doc.body.value as number | undefined) ?? now, newest);
      if (changed.length === 0) {
        if (highWater !== high?.doc.body.value) await this.bulk('observe', [{ index: { _id: HIGH_WATER_ID } }, { kind: 'meta', body: { value: highWater } }], false);
        return 0;
      }

      const groups = new Map<string, { doc: NotifyDoc; body: GroupBody }>();
      for (const [id, doc] of await this.getDocs(changed.flatMap((c) => c.plans.map((p) => groupDocId(p.receiver, p.route, p.key))))) groups.set(id, { doc, body: doc.body as unknown as GroupBody });
      const resolved = changed.filter((c) => c.incident.status === 'resolved').map((c) => c.incident.id);
      const grouped = new Set(
        resolved.length === 0 ? [] : (await this.searchDocs({ bool: { filter: [{ term: { kind: 'member' } }, { terms: { incident: resolved } }] } })).map((m) => m.doc.incident ?? ''),
      );
      const members = new Map<string, NotifyDoc>();
      const touched = new Set<string>();
      for (const { incident, plans } of changed) {
        // A resolved incident nobody was told about, and none in a group, is nothing to notify.
        if (incident.status === 'resolved' && !grouped.has(incident.id)) continue;
        for (const p of plans) {
          const id = groupDocId(p.receiver, p.route, p.key);
          const group = groups.get(id);
          if (!group) {
            if (incident.status === 'resolved') continue;
            const body: GroupBody = { receiver: p.receiver, route: p.route, key: p.key, episode: incident.id, firstSentAt: null, lastSentAt: null };
            groups.set(id, { doc: { kind: 'group', due: now + p.waitMs, body: body as unknown as Record<string, unknown> }, body });
          } else {
            // Never sent (in group_wait, or all silenced so far): the first flush waits group_wait at
            // most; afterwards a change waits group_interval after the last notification.
            const due = group.body.lastSentAt === null ? now + p.waitMs : Math.max(now, group.body.lastSentAt + p.intervalMs);
            group.doc.due = Math.min(group.doc.due ?? due, due);
          }
          touched.add(id);
          grouped.add(incident.id);
          members.set(memberDocId(id, incident.id), { kind: 'member', group: id, incident: incident.id, body: { notified: null } });
        }
      }
      // Groups and members first, the incidents' states after: a holder dying in between leaves
      // states its successor observes again, never a change recorded as seen but in no group.
      await this.bulk('observe', [
        ...[...touched].flatMap((id) => [{ index: { _id: id } }, groups.get(id)?.doc]),
        ...[...members].flatMap(([id, doc]) => [{ create: { _id: id } }, doc]),
      ]);
      await this.bulk('observe', [
        ...changed.flatMap(({ incident }) => [
          { index: { _id: incidentDocId(incident.id) } },
          {
            kind: 'incident',
            incident: incident.id,
            state: incident.status,
            changed: now,
            body: { snapshot: observedState(incident), updatedAt: Date.parse(incident.updatedAt), incident },
          } satisfies NotifyDoc,
        ]),
        { index: { _id: HIGH_WATER_ID } },
        { kind: 'meta', body: { value: highWater } },
      ], false);
      return changed.length;
    });
  }

  private static toGroup(id: string, doc: NotifyDoc): NotifyGroup {
    const body = doc.body as unknown as GroupBody;
    return { id, receiver: body.receiver, route: body.route, key: body.key, episode: body.episode, firstSentAt: body.firstSentAt, lastSentAt: body.lastSentAt, nextFlushAt: doc.due ?? 0 };
  }

  async dueGroups(now: number, limit = 50): Promise<NotifyGroup[]> {
    return this.run('dueGroups', async () =>
      (await this.searchDocs({ bool: { filter: [{ term: { kind: 'group' } }, { range: { due: { lte: now } } }] } }, [{ due: 'asc' }], limit)).map(({ id, doc }) =>
        ElasticsearchOutbox.toGroup(id, doc),
      ),
    );
  }

  async members(group: NotifyGroup): Promise<GroupMember[]> {
    return this.run('members', async () => {
      const members = await this.searchDocs({ bool: { filter: [{ term: { kind: 'member' } }, { term: { group: group.id } }] } });
      const incidents = await this.getDocs(members.map((m) => incidentDocId(m.doc.incident ?? '')));
      return members
        .flatMap((m) => {
          const incident = incidents.get(incidentDocId(m.doc.incident ?? ''))?.body.incident as Incident | undefined;
          return incident ? [{ incident, notified: (m.doc.body.notified as string | null) ?? null }] : [];
        })
        .sort((a, b) => (a.incident.id < b.incident.id ? -1 : a.incident.id > b.incident.id ? 1 : 0));
    });
  }

  async commitFlush(group: NotifyGroup, result: FlushResult, now: number): Promise<void> {
    await this.run('commitFlush', async () => {
      // The group as this flush read it: a flush already committed changed it, so this one queues nothing.
      const current = await this.getDoc(group.id);
      if (current?.doc.due !== group.nextFlushAt) return;
      const groupKey = `${group.receiver}\u0000${group.route}\u0000${group.key}`;
      const operations: unknown[] = [];
      result.deliveries.forEach((d, i) => {
        const body: DeliveryBody = { receiver: group.receiver, type: d.type, event: d.event, body: d.body, attempts: 0, createdAt: now, lastAttemptAt: null, sentAt: null, lastError: null };
        // Named after this flush: a successor committing the same flush again creates nothing.
        operations.push({ create: { _id: `d:${hash(group.id, group.nextFlushAt, i)}` } }, {
          kind: 'delivery',
          group: groupKey,
          incidents: d.incidentIds,
          state: d.state,
          due: now,
          order: now * 8 + i,
          changed: now,
          body: body as unknown as Record<string, unknown>,
        } satisfies NotifyDoc);
      });
      for (const [incidentId, notified] of result.notified) {
        if (!result.remove.includes(incidentId)) operations.push({ update: { _id: memberDocId(group.id, incidentId) } }, { doc: { body: { notified } } });
      }
      for (const incidentId of result.remove) operations.push({ delete: { _id: memberDocId(group.id, incidentId) } });
      if (result.nextFlushAt === null) {
        operations.push({ delete: { _id: group.id } });
      } else {
        const body: GroupBody = {
          receiver: group.receiver,
          route: group.route,
          key: group.key,
          episode: group.episode,
          firstSentAt: group.firstSentAt ?? (result.sent ? now : null),
          lastSentAt: result.sent ? now : group.lastSentAt,
        };
        operations.push({ index: { _id: group.id } }, { kind: 'group', due: result.nextFlushAt, body: body as unknown as Record<string, unknown> } satisfies NotifyDoc);
      }
      await this.bulk('commitFlush', operations);
    });
  }

  async digestQueuedAt(digest: DigestKey): Promise<number | undefined> {
    return this.run('digestQueuedAt', async () => (await this.getDoc(digestDocId(digest)))?.doc.body.queuedAt as number | undefined);
  }

  async enqueueDigest(digest: DigestKey, type: string, body: string, now: number): Promise<void> {
    const delivery: DeliveryBody = { receiver: digest.receiver, type, event: 'trigger', body, attempts: 0, createdAt: now, lastAttemptAt: null, sentAt: null, lastError: null };
    await this.run('enqueueDigest', () =>
      this.bulk('enqueueDigest', [
        { create: { _id: `d:${hash(digestDocId(digest), now)}` } },
        {
          kind: 'delivery',
          group: `risk-digest\u0000${digest.receiver}\u0000${digest.route}\u0000${digest.host}`,
          incidents: [],
          state: 'pending',
          due: now,
          order: now * 8,
          changed: now,
          body: delivery as unknown as Record<string, unknown>,
        } satisfies NotifyDoc,
        { index: { _id: digestDocId(digest) } },
        { kind: 'digest', body: { queuedAt: now } } satisfies NotifyDoc,
      ]),
    );
  }

  async due(now: number, skip: ReadonlySet<string>, limit: number): Promise<QueuedDelivery[]> {
    return this.run('due', async () => {
      // Without the request bodies: a receiver down for hours leaves many pending behind each other.
      const pending = await this.searchDocs({ bool: { filter: [{ term: { kind: 'delivery' } }, { term: { state: 'pending' } }] } }, [{ order: 'asc' }], MAX_READ, ['body.body']);
      const firstOfGroup = new Map<string, { id: string; doc: NotifyDoc }>();
      for (const p of pending) if (!firstOfGroup.has(p.doc.group ?? '')) firstOfGroup.set(p.doc.group ?? '', p);
      const chosen = [...firstOfGroup.values()].filter(({ id, doc }) => (doc.due ?? 0) <= now && !skip.has(id)).slice(0, limit);
      const full = await this.getDocs(chosen.map((c) => c.id));
      return chosen
        .flatMap(({ id }) => {
          const doc = full.get(id);
          return doc ? [{ id, doc }] : [];
        })
        .map(({ id, doc }) => {
          const body = doc.body as unknown as DeliveryBody;
          return { id, groupKey: doc.group ?? '', receiver: body.receiver, type: body.type, event: body.event, body: body.body, attempts: body.attempts, createdAt: body.createdAt };
        });
    });
  }

  /** Changes a delivery as last read (no scripts: the stripped distributions have no painless). */
  private async updateDelivery(what: string, id: string, change: (doc: NotifyDoc, body: DeliveryBody) => void): Promise<void> {
    await this.run(what, async () => {
      const read = await this.getDoc(id);
      if (!read) return;
      change(read.doc, read.doc.body as unknown as DeliveryBody);
      await this.client.index({ index: this.index, id, document: read.doc, if_seq_no: read.seqNo, if_primary_term: read.primaryTerm, refresh: true }, this.timeout);
    });
  }

  async markSent(id: string, now: number): Promise<void> {
    await this.updateDelivery('markSent', id, (doc, body) => {
      doc.state = 'sent';
      Object.assign(body, { attempts: body.attempts + 1, lastAttemptAt: now, sentAt: now, lastError: null });
    });
  }

  async markFailed(id: string, now: number, error: string, retryAt: number | null): Promise<void> {
    await this.updateDelivery('markFailed', id, (doc, body) => {
      doc.state = retryAt === null ? 'failed' : 'pending';
      doc.due = retryAt ?? now;
      Object.assign(body, { attempts: body.attempts + 1, lastAttemptAt: now, lastError: error.slice(0, 1000) });
    });
  }

  async postpone(id: string, at: number): Promise<void> {
    await this.updateDelivery('postpone', id, (doc) => {
      doc.due = at;
    });
  }

  async pendingCount(): Promise<number> {
    return this.run('pendingCount', async () => {
      const res = await this.client.count({ index: this.index, query: { bool: { filter: [{ term: { kind: 'delivery' } }, { term: { state: 'pending' } }] } } }, this.timeout);
      return res.count;
    });
  }

  async deliveries(incidentId: string, limit = 100): Promise<DeliveryStatus[]> {
    return this.run('deliveries', async () =>
      (await this.searchDocs({ bool: { filter: [{ term: { kind: 'delivery' } }, { term: { incidents: incidentId } }] } }, [{ order: 'desc' }], limit)).map(({ doc }) => {
        const body = doc.body as unknown as DeliveryBody;
        return {
          receiver: body.receiver,
          type: body.type,
          event: body.event,
          state: doc.state as DeliveryStatus['state'],
          attempts: body.attempts,
          lastAttemptAt: iso(body.lastAttemptAt),
          sentAt: iso(body.sentAt),
          lastError: body.lastError,
        };
      }),
    );
  }

  async prune(before: number): Promise<void> {
    await this.run('prune', async () => {
      const finished = await this.searchDocs({ bool: { filter: [{ term: { kind: 'delivery' } }, { range: { changed: { lt: before } } }], must_not: [{ term: { state: 'pending' } }] } });
      const quiet = await this.searchDocs({ bool: { filter: [{ term: { kind: 'incident' } }, { term: { state: 'resolved' } }, { range: { changed: { lt: before } } }] } });
      const ids = quiet.map((q) => q.doc.incident ?? '');
      const grouped = new Set(
        ids.length === 0 ? [] : (await this.searchDocs({ bool: { filter: [{ term: { kind: 'member' } }, { terms: { incident: ids } }] } })).map((m) => m.doc.incident),
      );
      await this.bulk('prune', [...finished, ...quiet.filter((q) => !grouped.has(q.doc.incident))].map((d) => ({ delete: { _id: d.id } })));
    });
  }
}

/** Opens the outbox of a store's prefix and creates its index: an unreachable cluster fails here, at boot. */
export async function openElasticsearchOutbox(options: ElasticsearchOutboxOptions): Promise<ElasticsearchOutbox> {
  const requestTimeout = options.requestTimeout ?? 10_000;
  const client = new Client({ node: options.url, requestTimeout, maxRetries: 2 });
  const outbox = new ElasticsearchOutbox(client, `${options.indexPrefix}-notify`, requestTimeout);
  try {
    await outbox.install();
  } catch (error) {
    await client.close();
    throw new FineprintError('FP_STORE_UNAVAILABLE', `cannot create the notification outbox ${outbox.index}: ${(error as Error).message}`);
  }
  return outbox;
}
