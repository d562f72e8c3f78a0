import { describe, expect, it } from 'vitest';
import type { Incident } from '../../shared/incident.js';
import type { FlushResult, GroupPlan, NotificationOutbox } from '../../shared/notification.js';

/**
 * One contract for the notification outbox of every store (embedded SQLite, Elasticsearch): one
 * lease holder at a time, taken over once it runs out; groups scheduled as Alertmanager does;
 * a flush committed twice queues once; deliveries of a group in order; states kept per incident.
 */
export function outboxContract(name: string, open: () => Promise<{ outbox: NotificationOutbox; close(): Promise<void> }>): void {
  const base = Date.UTC(2026, 10, 27, 10, 0, 0);
  let seq = 0;
  const incident = (over: Partial<Incident> = {}): Incident => {
    seq += 1;
    const at = new Date(base).toISOString();
    return {
      id: `inc-${seq}`,
      fingerprint: `oom-kill|h1|app-${seq}`,
      kbId: 'oom-kill',
      title: 'Container killed by the kernel OOM killer',
      severity: 'critical',
      status: 'open',
      host: 'h1',
      container: { id: `c${seq}`.padEnd(64, '0'), name: `app-${seq}`, image: 'busybox' },
      compose: null,
      count: 1,
      firstSeen: at,
      lastSeen: at,
      message: 'Memory cgroup out of memory',
      summary: null,
      acknowledged: null,
      resolved: null,
      reopened: 0,
      updatedAt: at,
      causedBy: null,
      ...over,
    } as Incident;
  };
  const toHook = (): GroupPlan[] => [{ receiver: 'hook', route: 0, key: '{"kb":"oom-kill"}', waitMs: 200, intervalMs: 60_000 }];
  const sendAll = (ids: string[], nextFlushAt: number | null): FlushResult => ({
    deliveries: [{ event: 'trigger', type: 'webhook', body: `{"ids":${JSON.stringify(ids)}}`, state: 'pending', incidentIds: ids }],
    notified: new Map(ids.map((id) => [id, 'open|1|0'])),
    remove: [],
    nextFlushAt,
    sent: true,
  });

  describe(`notification outbox contract: ${name}`, () => {
    it('one lease holder at a time: renewed by its holder, taken over once it runs out, free at once when released', async () => {
      const { outbox, close } = await open();
      expect(await outbox.claimLease('a', base, 1000)).toBe(true);
      expect(await outbox.claimLease('b', base + 10, 1000)).toBe(false);
      expect(await outbox.claimLease('a', base + 500, 1000)).toBe(true);
      expect(await outbox.claimLease('b', base + 1400, 1000)).toBe(false);
      // a's renewal ran out at base + 1500.
      expect(await outbox.claimLease('b', base + 1500, 1000)).toBe(true);
      expect(await outbox.claimLease('a', base + 1600, 1000)).toBe(false);
      await outbox.releaseLease('a'); // not a's to release
      expect(await outbox.claimLease('a', base + 1700, 1000)).toBe(false);
      await outbox.releaseLease('b');
      expect(await outbox.claimLease('a', base + 1800, 1000)).toBe(true);
      // Two claimants at once: exactly one wins.
      await outbox.releaseLease('a');
      const claims = await Promise.all(['c', 'd', 'e'].map((h) => outbox.claimLease(h, base + 2000, 1000)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      await close();
    });

    it('groups incidents, waits group_wait, observes each state once, and ignores an older read', async () => {
      const { outbox, close } = await open();
      expect(await outbox.highWater(base)).toBe(base);
      const [a, b] = [incident(), incident()];
      expect(await outbox.observe([a, b], toHook, base)).toBe(2);
      expect(await outbox.observe([a, b], toHook, base + 10)).toBe(0);
      expect(await outbox.dueGroups(base + 199)).toEqual([]);
      const [group] = await outbox.dueGroups(base + 200);
      expect(group).toMatchObject({ receiver: 'hook', route: 0, key: '{"kb":"oom-kill"}', episode: a.id, firstSentAt: null, lastSentAt: null, nextFlushAt: base + 200 });
      expect((await outbox.members(group!)).map((m) => [m.incident.id, m.notified])).toEqual([
        [a.id, null],
        [b.id, null],
      ]);
      // A link (causedBy) is no state to notify, but the flush reads it from the members.
      const linked = { ...b, causedBy: a.id };
      expect(await outbox.observe([linked], toHook, base + 15)).toBe(1);
      expect(await outbox.members(group!)).toEqual([
        { incident: a, notified: null },
        { incident: linked, notified: null },
      ]);
      // An older read of a (updatedAt before the one observed) changes nothing.
      const older = { ...a, status: 'resolved' as const, updatedAt: new Date(base - 1000).toISOString() };
      expect(await outbox.observe([older], toHook, base + 20)).toBe(0);
      // A resolved incident never grouped is nothing to notify.
      const quiet = incident({ status: 'resolved' });
      expect(await outbox.observe([quiet], toHook, base + 30)).toBe(1);
      expect((await outbox.members(group!)).map((m) => m.incident.id)).toEqual([a.id, b.id]);
      expect(await outbox.highWater(base + 40)).toBe(base);
      await close();
    });

    it('a flush committed twice queues once; the next change waits group_interval after it', async () => {
      const { outbox, close } = await open();
      const a = incident();
      await outbox.observe([a], toHook, base);
      const [group] = await outbox.dueGroups(base + 200);
      await outbox.commitFlush(group!, sendAll([a.id], base + 3_600_000), base + 200);
      await outbox.commitFlush(group!, sendAll([a.id], base + 3_600_000), base + 201);
      expect(await outbox.pendingCount()).toBe(1);
      expect(await outbox.deliveries(a.id)).toEqual([expect.objectContaining({ receiver: 'hook', type: 'webhook', event: 'trigger', state: 'pending', attempts: 0 })]);
      expect(await outbox.dueGroups(base + 10_000)).toEqual([]);
      const [sent] = await outbox.dueGroups(base + 3_600_000);
      expect(sent).toMatchObject({ firstSentAt: base + 200, lastSentAt: base + 200 });
      expect((await outbox.members(sent!))[0]?.notified).toBe('open|1|0');
      // A change: due group_interval after the last notification, not at once.
      await outbox.observe([{ ...a, count: 2, updatedAt: new Date(base + 1000).toISOString() }], toHook, base + 1000);
      expect(await outbox.dueGroups(base + 60_199)).toEqual([]);
      expect((await outbox.dueGroups(base + 60_200)).map((g) => g.nextFlushAt)).toEqual([base + 60_200]);
      // A flush that removes the last member deletes the group.
      const [again] = await outbox.dueGroups(base + 60_200);
      await outbox.commitFlush(again!, { deliveries: [], notified: new Map(), remove: [a.id], nextFlushAt: null, sent: false }, base + 60_200);
      expect(await outbox.dueGroups(base + 10 * 3_600_000)).toEqual([]);
      await close();
    });

    it("a group's deliveries go out in order, one at a time; failed, postponed and sent are kept per incident", async () => {
      const { outbox, close } = await open();
      const a = incident();
      await outbox.observe([a], toHook, base);
      const [group] = await outbox.dueGroups(base + 200);
      await outbox.commitFlush(group!, sendAll([a.id], base + 300), base + 200);
      const [next] = await outbox.dueGroups(base + 300);
      await outbox.commitFlush(next!, { ...sendAll([a.id], base + 3_600_000), deliveries: [{ event: 'resolve', type: 'webhook', body: '{}', state: 'pending', incidentIds: [a.id] }] }, base + 300);
      await outbox.enqueueDigest({ route: 1, receiver: 'hook', host: 'h1' }, 'webhook', '{"kind":"risk-digest"}', base + 400);
      expect(await outbox.digestQueuedAt({ route: 1, receiver: 'hook', host: 'h1' })).toBe(base + 400);
      expect(await outbox.digestQueuedAt({ route: 1, receiver: 'hook', host: 'h2' })).toBeUndefined();

      const first = await outbox.due(base + 500, new Set(), 10);
      expect(first.map((d) => d.event)).toEqual(['trigger', 'trigger']);
      const [trigger, digest] = first;
      expect(trigger).toMatchObject({ receiver: 'hook', type: 'webhook', body: `{"ids":["${a.id}"]}`, attempts: 0, createdAt: base + 200 });
      expect(digest?.body).toBe('{"kind":"risk-digest"}');
      expect(await outbox.due(base + 500, new Set([trigger!.id]), 10)).toEqual([digest]);

      await outbox.markFailed(trigger!.id, base + 600, 'HTTP 503: busy', base + 5000);
      // The resolve waits behind its group's trigger.
      expect((await outbox.due(base + 700, new Set([digest!.id]), 10)).map((d) => d.event)).toEqual([]);
      await outbox.postpone(trigger!.id, base + 8000);
      expect(await outbox.due(base + 6000, new Set([digest!.id]), 10)).toEqual([]);
      const retry = await outbox.due(base + 8000, new Set([digest!.id]), 10);
      expect(retry.map((d) => [d.id, d.attempts])).toEqual([[trigger!.id, 1]]);
      await outbox.markSent(trigger!.id, base + 8100);
      const resolve = await outbox.due(base + 8200, new Set([digest!.id]), 10);
      expect(resolve.map((d) => d.event)).toEqual(['resolve']);
      await outbox.markFailed(resolve[0]!.id, base + 8300, 'HTTP 400: bad', null);
      expect(await outbox.pendingCount()).toBe(1);
      expect(await outbox.deliveries(a.id)).toEqual([
        { receiver: 'hook', type: 'webhook', event: 'resolve', state: 'failed', attempts: 1, lastAttemptAt: new Date(base + 8300).toISOString(), sentAt: null, lastError: 'HTTP 400: bad' },
        { receiver: 'hook', type: 'webhook', event: 'trigger', state: 'sent', attempts: 2, lastAttemptAt: new Date(base + 8100).toISOString(), sentAt: new Date(base + 8100).toISOString(), lastError: null },
      ]);
      // Pruning forgets finished deliveries, keeps the pending one.
      await outbox.prune(base + 10_000);
      expect(await outbox.deliveries(a.id)).toEqual([]);
      expect(await outbox.pendingCount()).toBe(1);
      await close();
    });
  });
}
