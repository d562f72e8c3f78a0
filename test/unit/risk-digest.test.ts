// Risks are never notified unless a route of `kind: risk` asks, and then as one digest per host a
// day: against a real SQLite risk store, the real outbox and real receivers on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { compileRoutes, NotifyConfig, routesFor } from '../../services/api/notify/config.js';
import { createNotifier } from '../../services/api/notify/index.js';
import { SqliteOutbox } from '../../shared/store/outbox-sqlite.js';
import { createRiskDigests, RISK_DIGEST_INTERVAL_MS, type RiskDigest } from '../../services/api/notify/risk-digest.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry } from '../../shared/metrics.js';
import type { Notifier } from '../../shared/notification.js';
import { RISK_RECORD_VERSION, type RiskFinding, type RiskRecord } from '../../shared/risk.js';
import { openDatabase } from '../../shared/sqlite.js';
import { SqliteRiskStore } from '../../shared/store/risks-sqlite.js';
import { waitFor } from '../support/docker.js';
import { startReceiver, type TestReceiver } from '../support/receivers.js';

const kb = loadKnowledgeBase();
const SECRET = 'unit-test-webhook-secret-0123';
const pids: RiskFinding = { kbId: 'pids-exhausted', severity: 'medium', message: 'no pids limit', fix: 'docker update --pids-limit 512 web' };
const restart: RiskFinding = { kbId: 'restart-on-another-host', severity: 'low', message: 'restart policy "no"', fix: 'docker update --restart unless-stopped web' };
const logs: RiskFinding = { kbId: 'container-log-growth', severity: 'medium', message: 'json-file without max-size', fix: '--log-opt max-size=10m' };
const audit = (host: string, name: string, findings: RiskFinding[]): RiskRecord => ({
  v: RISK_RECORD_VERSION,
  scope: 'audit',
  host,
  container: { id: name.charCodeAt(0).toString(16).padEnd(64, '0'), name, image: 'busybox' },
  observedAt: Date.now(),
  findings,
});

const receivers: TestReceiver[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(kind: 'webhook' | 'slack'): Promise<TestReceiver> {
  const r = await startReceiver(kind, { secret: SECRET });
  receivers.push(r);
  return r;
}

describe('risk digests', () => {
  it('a risk route gets one signed digest per host with the matching risks; incident routes get no risk', async () => {
    const [hook, chat] = [await receiver('webhook'), await receiver('slack')];
    const db = openDatabase(':memory:');
    const risks = new SqliteRiskStore(db);
    await risks.applyRisks([audit('h1', 'web', [pids, restart]), audit('h2', 'db', [logs])]);
    const config = NotifyConfig.parse({
      receivers: [
        { name: 'hook', type: 'webhook', url: hook.url, secret: SECRET },
        { name: 'chat', type: 'slack', url: chat.url },
      ],
      routes: [
        { kind: 'risk', receivers: ['hook', 'chat'], severity: 'medium', group_wait: '0s' },
        { receivers: ['chat'] },
      ],
    });
    const notifier = createNotifier({
      outbox: new SqliteOutbox(db),
      config,
      kb,
      publicUrl: () => 'http://fineprint.example',
      silences: async () => [],
      changedSince: async () => [],
      incident: async () => undefined,
      risks,
      metrics: new MetricsRegistry(),
      log: createLogger('digest-test', 'silent'),
      tickMs: 20,
    });
    notifiers.push(notifier);
    notifier.start();

    const digests = await waitFor(async () => (hook.accepted().length >= 2 ? hook.accepted() : undefined), 10_000, 'a digest per host');
    for (const d of digests) expect(d.problems).toEqual([]);
    const byHost = new Map(digests.map((d) => [(d.json as RiskDigest).host, d.json as RiskDigest]));
    expect([...byHost.keys()].sort()).toEqual(['h1', 'h2']);
    // The route asks for medium and above: the low finding is left out.
    expect(byHost.get('h1')).toMatchObject({ kind: 'risk-digest', title: '1 risk on h1', risks: [{ kbId: 'pids-exhausted', fix: pids.fix, container: { name: 'web' } }], url: 'http://fineprint.example/#/risks' });
    expect(byHost.get('h2')?.risks.map((r) => r.kbId)).toEqual(['container-log-growth']);
    const slack = await waitFor(async () => (chat.accepted().length >= 2 ? chat.accepted() : undefined), 10_000, 'the Slack digests');
    expect(slack.map((a) => a.problems)).toEqual([[], []]);
    expect(slack.map((a) => (a.json as { text: string }).text).sort()).toEqual(['Risks: 1 risk on h1', 'Risks: 1 risk on h2']);
    expect(hook.arrivals).toHaveLength(2);
  });

  it('queues a host’s digest once a day, however often it is asked', async () => {
    const db = openDatabase(':memory:');
    const risks = new SqliteRiskStore(db);
    await risks.applyRisks([audit('h1', 'web', [pids])]);
    const config = NotifyConfig.parse({
      receivers: [{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: SECRET }],
      routes: [{ kind: 'risk', receivers: ['hook'], group_wait: '0s' }],
    });
    const outbox = new SqliteOutbox(db);
    const digests = createRiskDigests({ outbox, risks, routes: compileRoutes(config.routes), receivers: new Map([['hook', config.receivers[0]!]]), kb, risksUrl: () => 'http://x/#/risks' });
    const queued = () => (db.prepare(`SELECT COUNT(*) AS n FROM notify_outbox`).get() as { n: number }).n;
    const now = Date.now();
    await digests.queueDue(now);
    await digests.queueDue(now + 3_600_000);
    await digests.queueDue(now + RISK_DIGEST_INTERVAL_MS - 60_000);
    expect(queued()).toBe(1);
    await digests.queueDue(now + RISK_DIGEST_INTERVAL_MS);
    expect(queued()).toBe(2);
    // A host without risks gets no digest.
    await risks.applyRisks([audit('h1', 'web', [])]);
    await digests.queueDue(now + 3 * RISK_DIGEST_INTERVAL_MS);
    expect(queued()).toBe(2);
  });

  it('incidents never take a risk route; a risk route names only Slack or webhook receivers', () => {
    const config = NotifyConfig.parse({
      receivers: [{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: SECRET }],
      routes: [{ kind: 'risk', receivers: ['hook'] }],
    });
    const incident = { kbId: 'oom-kill', severity: 'critical' as const, host: 'h1', container: null, compose: null };
    expect(routesFor(compileRoutes(config.routes), incident, [])).toEqual([]);
    const paging = NotifyConfig.safeParse({
      receivers: [{ name: 'pd', type: 'pagerduty', routing_key: 'R0123456789abcdef0123456789abcde' }],
      routes: [{ kind: 'risk', receivers: ['pd'] }],
    });
    expect(paging.error?.issues.map((i) => i.message)).toEqual(['a risk digest goes to slack or webhook receivers, not pagerduty ("pd")']);
  });
});
