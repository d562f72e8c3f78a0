// The notifier against a real SQLite outbox and real HTTP receivers on loopback: grouping,
// silences, retries, restarts and the payload formats of each receiver type.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileRoutes, loadNotifyConfig, NotifyConfig, routesFor } from '../../services/api/notify/config.js';
import { changesFromStore, createNotifier } from '../../services/api/notify/index.js';
import type { Incident } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry } from '../../shared/metrics.js';
import type { Notifier } from '../../shared/notification.js';
import type { Silence } from '../../shared/silence.js';
import { openDatabase, type SqliteDatabase } from '../../shared/sqlite.js';
import { SqliteOutbox } from '../../shared/store/outbox-sqlite.js';
import { waitFor } from '../support/docker.js';
import { startReceiver, type TestReceiver } from '../support/receivers.js';

const kb = loadKnowledgeBase();
const log = createLogger('notify-test', 'silent');
const SECRET = 'unit-test-webhook-secret-0123';
const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';

let seq = 0;
function incident(over: Partial<Incident> = {}): Incident {
  seq++;
  const now = new Date().toISOString();
  return {
    id: `inc-${seq}`,
    fingerprint: `oom-kill|host-1|app-${seq}`,
    kbId: 'oom-kill',
    title: 'Container killed by the kernel OOM killer (memory limit reached)',
    severity: 'critical',
    status: 'open',
    host: 'host-1',
    container: { id: `c${seq}`.padEnd(64, '0'), name: `app-${seq}`, image: 'busybox' },
    compose: null,
    count: 1,
    evidenceCount: 1,
    firstSeen: now,
    lastSeen: now,
    message: 'Memory cgroup out of memory: Killed process 42 (sh)',
    summary: `app-${seq} was OOM-killed: \`sh\` used 31.9 MiB of its 32 MiB limit`,
    acknowledged: null,
    resolved: null,
    reopened: 0,
    updatedAt: now,
    causedBy: null,
    ...over,
  };
}

/** An incident of a test's store as `store.get` reads it: its status and the incidents linked under it. */
const currentIn = (store: readonly Incident[]) => async (id: string) => {
  const found = store.find((i) => i.id === id);
  return found && { status: found.status, consequences: store.filter((c) => c.causedBy === id).map(({ id, kbId, title }) => ({ id, kbId, title })) };
};

const resolvedOf = (i: Incident, by = 'admin'): Incident => ({ ...i, status: 'resolved', resolved: { by, at: new Date().toISOString(), auto: false }, updatedAt: new Date().toISOString() });

interface Harness {
  db: SqliteDatabase;
  notifier: Notifier;
  silences: Silence[];
  store: Incident[];
  restart(): Promise<void>;
}

let dir: string;
let receivers: TestReceiver[] = [];
let running: Notifier[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fineprint-notify-'));
});
afterEach(async () => {
  await Promise.all(running.map((n) => n.stop()));
  await Promise.all(receivers.map((r) => r.close()));
  running = [];
  receivers = [];
  rmSync(dir, { recursive: true, force: true });
});

async function receiver(kind: Parameters<typeof startReceiver>[0]): Promise<TestReceiver> {
  const r = await startReceiver(kind, { secret: SECRET });
  receivers.push(r);
  return r;
}

function harness(raw: unknown): Harness {
  const config = NotifyConfig.parse(raw);
  const h: Harness = {
    db: openDatabase(join(dir, 'notify.db')),
    notifier: undefined as unknown as Notifier,
    silences: [],
    store: [],
    async restart() {
      await h.notifier.stop();
      h.db.close();
      h.db = openDatabase(join(dir, 'notify.db'));
      h.notifier = make();
      h.notifier.start();
    },
  };
  const make = () => {
    const n = createNotifier({
      outbox: new SqliteOutbox(h.db),
      config,
      kb,
      publicUrl: () => 'http://fineprint.example',
      silences: async () => h.silences,
      changedSince: async (ts) => h.store.filter((i) => Date.parse(i.updatedAt) >= ts),
      incident: currentIn(h.store),
      metrics: new MetricsRegistry(),
      log,
      tickMs: 20,
    });
    running.push(n);
    return n;
  };
  h.notifier = make();
  h.notifier.start();
  return h;
}

const fast = { timeout: '2s', retry: { initial: '50ms', max: '200ms' } };
const allDelivered = (n: Notifier, ids: string[]) =>
  waitFor(async () => {
    const all = (await Promise.all(ids.map((id) => n.deliveries(id)))).flat();
    return all.length > 0 && all.every((d) => d.state !== 'pending') ? all : undefined;
  }, 30_000, 'every delivery to finish');

describe('notification config', () => {
  it('a bad file stops start-up naming the file and the field', () => {
    const file = join(tmpdir(), `fineprint-notify-bad-${process.pid}.yaml`);
    writeFileSync(file, 'receivers:\n  - {name: pd, type: pagerduty, routing_key: short}\nroutes:\n  - receivers: [nobody]\n');
    try {
      expect(() => loadNotifyConfig(file)).toThrow(expect.objectContaining({ code: 'FP_CONFIG_INVALID' }));
      expect(() => loadNotifyConfig(file)).toThrow(/notify-bad[\s\S]*receivers\.0\.routing_key[\s\S]*routes\.0\.receivers\.0: no receiver named "nobody"/);
    } finally {
      rmSync(file);
    }
  });

  it('routes match by severity (at least, or a list), kb glob, tag and host glob, in order, with continue', () => {
    const routes = compileRoutes(
      NotifyConfig.parse({
        receivers: [{ name: 'a', type: 'slack', url: 'http://127.0.0.1:1/' }],
        routes: [
          { receivers: ['a'], severity: 'high', host: 'web-*', continue: true },
          { receivers: ['a'], kb: 'jvm-*' },
          { receivers: ['a'], tag: 'memory' },
          { receivers: ['a'], severity: ['low', 'info'] },
        ],
      }).routes,
    );
    const tags = (id: string) => kb.byId.get(id)?.tags ?? [];
    const take = (i: Incident) => routesFor(routes, i, tags(i.kbId)).map((r) => r.index);
    expect(take(incident({ host: 'web-1' }))).toEqual([0, 2]); // critical oom-kill: high+, then tag memory
    expect(take(incident({ host: 'db-1', kbId: 'jvm-heap', severity: 'high' }))).toEqual([1]);
    expect(take(incident({ host: 'db-1', kbId: 'swap-limit', severity: 'low' }))).toEqual([2]); // memory tag comes first
    expect(take(incident({ host: 'db-1', kbId: 'zombie-reaping', severity: 'low' }))).toEqual([3]);
    expect(take(incident({ host: 'db-1', kbId: 'port-conflict', severity: 'medium' }))).toEqual([]);
  });

  it('every shipped KB entry has 1-3 tags', () => {
    for (const entry of kb.entries) expect(entry.tags?.length ?? 0, entry.id).toBeGreaterThanOrEqual(1);
  });
});

describe('grouping and delivery', { timeout: 60_000 }, () => {
  it('a burst of one KB entry is one notification listing them; observing the same state again queues nothing', async () => {
    const hook = await receiver('webhook');
    const h = harness({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ...fast }],
      routes: [{ receivers: ['hook'], group_wait: '300ms', group_interval: '1h' }],
    });
    const burst = Array.from({ length: 150 }, () => incident({ kbId: 'crash-loop', severity: 'high' }));
    await h.notifier.observe(burst.slice(0, 70));
    await h.notifier.observe(burst.slice(70));
    await h.notifier.observe(burst);
    await allDelivered(h.notifier, burst.map((i) => i.id));
    expect(hook.accepted()).toHaveLength(1);
    const body = hook.accepted()[0]!.json as { event: string; title: string; incidents: Array<{ id: string; url: string }>; omitted: number; counts: { open: number } };
    expect(hook.arrivals[0]!.problems).toEqual([]);
    expect(body.event).toBe('trigger');
    expect(body.counts.open).toBe(150);
    expect(body.incidents).toHaveLength(100);
    expect(body.omitted).toBe(50);
    expect(body.title).toMatch(/^150 x .* on host-1$/);
    expect(body.incidents[0]!.url).toBe(`http://fineprint.example/#/incidents/${body.incidents[0]!.id}`);
    expect(await h.notifier.deliveries(burst[149]!.id)).toEqual([expect.objectContaining({ receiver: 'hook', type: 'webhook', event: 'trigger', state: 'sent', attempts: 1 })]);
  });

  it('changes after the first notification wait group_interval and come as one update; a resolve of all resolves', async () => {
    const hook = await receiver('webhook');
    const h = harness({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ...fast }],
      routes: [{ receivers: ['hook'], group_wait: '0s', group_interval: '500ms' }],
    });
    const a = incident();
    await h.notifier.observe([a]);
    await waitFor(async () => (hook.accepted().length === 1 ? true : undefined), 10_000, 'the trigger');
    const more = [incident(), incident(), { ...a, count: 2 }];
    await h.notifier.observe(more);
    await waitFor(async () => (hook.accepted().length === 2 ? true : undefined), 10_000, 'the update');
    const update = hook.accepted()[1]!.json as { event: string; incidents: Array<{ id: string; changed: boolean }> };
    expect(update.event).toBe('update');
    expect(update.incidents.filter((i) => i.changed).map((i) => i.id).sort()).toEqual(more.map((i) => i.id).sort());
    await h.notifier.observe(more.map((i) => resolvedOf(i)));
    await waitFor(async () => (hook.accepted().length === 3 ? true : undefined), 10_000, 'the resolve');
    expect((hook.accepted()[2]!.json as { event: string }).event).toBe('resolve');
    await allDelivered(h.notifier, [a.id]);
    expect(hook.accepted()).toHaveLength(3);
  });

  it('a silenced incident is recorded as silenced and not sent', async () => {
    const hook = await receiver('webhook');
    const h = harness({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ...fast }],
      routes: [{ receivers: ['hook'], group_by: ['kb', 'container'], group_wait: '0s' }],
    });
    const now = Date.now();
    h.silences.push({
      id: 's1',
      matchers: { container: 'noisy-*' },
      startsAt: new Date(now - 1000).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: 'admin',
      createdAt: new Date(now).toISOString(),
      comment: 'known',
    });
    const noisy = incident({ container: { id: 'n'.repeat(64), name: 'noisy-1', image: 'busybox' } });
    const loud = incident();
    await h.notifier.observe([noisy, loud]);
    await allDelivered(h.notifier, [noisy.id, loud.id]);
    expect(await h.notifier.deliveries(noisy.id)).toEqual([expect.objectContaining({ state: 'silenced', event: 'trigger', attempts: 0 })]);
    expect(hook.accepted().map((a) => (a.json as { incidents: Array<{ id: string }> }).incidents.map((i) => i.id))).toEqual([[loud.id]]);
  });

  it('a consequence is inhibited while its cause is open (its cause names it), linked late in group_wait, and told once the cause resolves', async () => {
    const hook = await receiver('webhook');
    const h = harness({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ...fast }],
      routes: [{ receivers: ['hook'], group_wait: '500ms', group_interval: '100ms' }],
    });
    const cause = incident();
    const consequence = incident({ kbId: 'crash-loop', severity: 'high', title: 'Container restarting in a loop', container: cause.container });
    h.store.push(cause, consequence);
    await h.notifier.observe([cause, consequence]);
    // The link arrives after the notifier recorded the consequence, within its group_wait.
    const linked: Incident = { ...consequence, causedBy: cause.id, updatedAt: new Date().toISOString() };
    h.store.splice(1, 1, linked);
    await h.notifier.observe([linked]);
    type Body = { event: string; incidents: Array<{ id: string; consequences: Array<{ id: string; url: string }> }> };
    const told = () => hook.accepted().map((a) => a.json as Body);
    // Both groups flush in the same pass: once the cause's trigger is in, the consequence's group has flushed too.
    await waitFor(async () => (told().length === 1 ? true : undefined), 10_000, "the cause's trigger");
    expect(told()[0]!.incidents).toEqual([expect.objectContaining({ id: cause.id, consequences: [{ id: consequence.id, kbId: 'crash-loop', title: consequence.title, url: `http://fineprint.example/#/incidents/${consequence.id}` }] })]);
    expect(await h.notifier.deliveries(consequence.id)).toEqual([]);

    const resolved = resolvedOf(cause);
    h.store.splice(0, 1, resolved);
    await h.notifier.observe([resolved]);
    await waitFor(async () => (told().some((b) => b.incidents.some((i) => i.id === consequence.id)) ? true : undefined), 10_000, 'the consequence told');
    await allDelivered(h.notifier, [cause.id, consequence.id]);
    expect(told().map((b) => [b.event, b.incidents.map((i) => i.id)]).sort()).toEqual([
      ['resolve', [cause.id]],
      ['trigger', [cause.id]],
      ['trigger', [consequence.id]],
    ]);
  });

  it('a failing receiver gets everything exactly once after it recovers, also across a restart while pending', async () => {
    const hook = await receiver('webhook');
    hook.failWith(503);
    const h = harness({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ...fast }],
      routes: [{ receivers: ['hook'], group_by: ['container'], group_wait: '0s' }],
    });
    const incidents = [incident(), incident(), incident()];
    await h.notifier.observe(incidents);
    await waitFor(async () => (hook.arrivals.length >= 6 ? true : undefined), 20_000, 'retries');
    const [failing] = await h.notifier.deliveries(incidents[0]!.id);
    expect(failing).toMatchObject({ state: 'pending', lastError: expect.stringContaining('HTTP 503') });
    expect(failing!.attempts).toBeGreaterThanOrEqual(1);
    await h.restart();
    await h.notifier.observe(incidents); // a replay after the restart: nothing new
    hook.failWith(null);
    await allDelivered(h.notifier, incidents.map((i) => i.id));
    const got = hook.accepted().flatMap((a) => (a.json as { incidents: Array<{ id: string }> }).incidents.map((i) => i.id));
    expect(got.sort()).toEqual(incidents.map((i) => i.id).sort());
  });

  it('a 4xx answer (a bad signature here) is not retried: the delivery fails with the reason', async () => {
    const hook = await receiver('webhook');
    const h = harness({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: 'not-the-receivers-secret', ...fast }],
      routes: [{ receivers: ['hook'], group_wait: '0s' }],
    });
    const a = incident();
    await h.notifier.observe([a]);
    const [failed] = await allDelivered(h.notifier, [a.id]);
    expect(failed).toMatchObject({ state: 'failed', attempts: 1, lastError: expect.stringContaining('X-Fineprint-Signature: does not verify') });
    expect(hook.arrivals).toHaveLength(1);
  });

  it('a hanging receiver times out and is retried', async () => {
    const hook = await receiver('webhook');
    hook.hang(3000);
    const h = harness({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, timeout: '300ms', retry: { initial: '50ms', max: '100ms' } }],
      routes: [{ receivers: ['hook'], group_wait: '0s' }],
    });
    const a = incident();
    await h.notifier.observe([a]);
    await waitFor(async () => ((await h.notifier.deliveries(a.id))[0]?.lastError?.includes('no response within 300 ms') ? true : undefined), 10_000, 'a timeout');
    hook.hang(null);
    const [done] = await allDelivered(h.notifier, [a.id]);
    expect(done).toMatchObject({ state: 'sent' });
    expect(done!.attempts).toBeGreaterThanOrEqual(2);
  });

  it('catches up at start with what the store changed while observe() never ran', async () => {
    const hook = await receiver('webhook');
    const config = { receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ...fast }], routes: [{ receivers: ['hook'], group_wait: '0s', group_interval: '100ms' }] };
    const h = harness(config);
    const seen = incident();
    await h.notifier.observe([seen]);
    await allDelivered(h.notifier, [seen.id]);
    const missed = incident(); // written to the store, then a crash before observe()
    h.store.push(missed);
    await h.restart();
    await allDelivered(h.notifier, [missed.id]);
    // The update lists the group: the missed incident as the change, the one seen before as still open.
    const changed = hook.accepted().map((a) => (a.json as { incidents: Array<{ id: string; changed: boolean }> }).incidents.filter((i) => i.changed).map((i) => i.id));
    expect(changed).toEqual([[seen.id], [missed.id]]);
  });

  it('an older read of an incident (the catch-up racing the pipeline) does not undo a newer one', async () => {
    const hook = await receiver('webhook');
    const h = harness({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ...fast }],
      routes: [{ receivers: ['hook'], group_wait: '0s', group_interval: '50ms' }],
    });
    const a = incident({ updatedAt: new Date(Date.now() - 1000).toISOString() });
    const acked: Incident = { ...a, status: 'acknowledged', acknowledged: { by: 'admin', at: new Date().toISOString() }, updatedAt: new Date().toISOString() };
    await h.notifier.observe([acked]);
    await h.notifier.observe([a]);
    await allDelivered(h.notifier, [a.id]);
    expect(hook.accepted().map((x) => (x.json as { incidents: Array<{ status: string }> }).incidents[0]!.status)).toEqual(['acknowledged']);
  });

  it('two notifiers on one outbox: the lease holder alone delivers, each incident once; a stopped holder hands over at once', async () => {
    const hook = await receiver('webhook');
    const config = NotifyConfig.parse({
      receivers: [{ name: 'hook', type: 'webhook', url: hook.url, secret: SECRET, ...fast }],
      routes: [{ receivers: ['hook'], group_by: ['container'], group_wait: '0s' }],
    });
    const db = openDatabase(join(dir, 'shared.db'));
    const store: Incident[] = [];
    const replica = () => {
      const n = createNotifier({
        outbox: new SqliteOutbox(db),
        config,
        kb,
        publicUrl: () => 'http://fineprint.example',
        silences: async () => [],
        changedSince: async (ts) => store.filter((i) => Date.parse(i.updatedAt) >= ts),
        incident: currentIn(store),
        metrics: new MetricsRegistry(),
        log,
        tickMs: 20,
        pollMs: 20,
        leaseMs: 4000,
      });
      running.push(n);
      n.start();
      return n;
    };
    const [a, b] = [replica(), replica()];
    const first = incident();
    store.push(first);
    // Each replica observes what it filed; here both file the same incident.
    await Promise.all([a.observe([first]), b.observe([first])]);
    await allDelivered(b, [first.id]);
    await a.stop();
    const second = incident();
    store.push(second);
    await b.observe([second]);
    await allDelivered(b, [second.id]);
    const told = hook.accepted().map((x) => (x.json as { incidents: Array<{ id: string }> }).incidents.map((i) => i.id));
    expect(told.sort()).toEqual([[first.id], [second.id]].sort());
  });

  it('changesFromStore reads every page of updatedSince', async () => {
    const pages = [
      { incidents: [incident(), incident()], nextCursor: 'c1' },
      { incidents: [incident()], nextCursor: null },
    ];
    const queries: unknown[] = [];
    const read = changesFromStore({ search: async (q) => (queries.push(q), pages[queries.length - 1]!) });
    expect(await read(1_700_000_000_000)).toHaveLength(3);
    expect(queries[1]).toMatchObject({ updatedSince: 1_700_000_000_000, cursor: 'c1', limit: 500 });
  });
});

describe('receiver formats', { timeout: 60_000 }, () => {
  it('Slack gets valid Block Kit with title, container, host, why, fix and a link', async () => {
    const slack = await receiver('slack');
    const h = harness({ receivers: [{ name: 'chat', type: 'slack', url: slack.url, ...fast }], routes: [{ receivers: ['chat'], group_wait: '0s' }] });
    const a = incident({ summary: 'a <b> & c' });
    await h.notifier.observe([a]);
    await allDelivered(h.notifier, [a.id]);
    const [arrival] = slack.accepted();
    expect(arrival!.problems).toEqual([]);
    const text = JSON.stringify(arrival!.json);
    for (const part of ['FIRING', a.container!.name, 'host-1', '*Why*', '*Fix*', `http://fineprint.example/#/incidents/${a.id}`, 'a &lt;b&gt; &amp; c']) expect(text).toContain(part);
  });

  it('PagerDuty gets trigger, acknowledge and resolve with dedup_key = the incident id', async () => {
    const pd = await receiver('pagerduty');
    const h = harness({
      receivers: [{ name: 'pd', type: 'pagerduty', routing_key: ROUTING_KEY, url: pd.url, ...fast }],
      routes: [{ receivers: ['pd'], group_by: ['container'], group_wait: '0s', group_interval: '100ms' }],
    });
    const a = incident();
    await h.notifier.observe([a]);
    await waitFor(async () => (pd.accepted().length === 1 ? true : undefined), 10_000, 'trigger');
    await h.notifier.observe([{ ...a, status: 'acknowledged', acknowledged: { by: 'admin', at: new Date().toISOString() } }]);
    await waitFor(async () => (pd.accepted().length === 2 ? true : undefined), 10_000, 'acknowledge');
    await h.notifier.observe([resolvedOf(a)]);
    await waitFor(async () => (pd.accepted().length === 3 ? true : undefined), 10_000, 'resolve');
    expect(pd.arrivals.flatMap((x) => x.problems)).toEqual([]);
    const events = pd.accepted().map((x) => x.json as { event_action: string; dedup_key: string; payload?: { severity: string; source: string } });
    expect(events.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', a.id],
      ['acknowledge', a.id],
      ['resolve', a.id],
    ]);
    expect(events[0]!.payload).toMatchObject({ severity: 'critical', source: 'host-1' });
  });

  it('Alertmanager gets labelled alerts, re-posted while open, with endsAt once resolved', async () => {
    const am = await receiver('alertmanager-api');
    const h = harness({
      receivers: [{ name: 'am', type: 'alertmanager', url: am.url.replace(/\/alertmanager-api$/, ''), ...fast }],
      routes: [{ receivers: ['am'], group_wait: '0s', group_interval: '100ms', repeat_interval: '200ms' }],
    });
    const a = incident();
    await h.notifier.observe([a]);
    await waitFor(async () => (am.arrivals.length >= 2 ? true : undefined), 10_000, 're-posts');
    const first = am.arrivals[0]!;
    expect(first.path).toBe('/api/v2/alerts');
    expect(first.json).toEqual([
      expect.objectContaining({
        labels: { alertname: 'oom-kill', severity: 'critical', host: 'host-1', container: a.container!.name, fineprint_incident: a.id },
        annotations: expect.objectContaining({ summary: a.title, description: a.summary, fix: expect.any(String) }),
        startsAt: a.firstSeen,
        generatorURL: `http://fineprint.example/#/incidents/${a.id}`,
      }),
    ]);
    expect((first.json as Array<{ endsAt?: string }>)[0]!.endsAt).toBeUndefined();
    const resolved = resolvedOf(a);
    await h.notifier.observe([resolved]);
    await waitFor(async () => (am.arrivals.some((x) => (x.json as Array<{ endsAt?: string }>)[0]?.endsAt === resolved.resolved!.at) ? true : undefined), 10_000, 'endsAt');
  });
});
