// The CLI as a client of a running fineprint, through the real binary against the real all-in-one:
// `fineprint incidents`, `fineprint silences`, `fineprint whoami` (FINEPRINT_URL, FINEPRINT_TOKEN),
// `fineprint notify test` against real receivers and the real Alertmanager, and the browser session
// the page signs in with.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../shared/incident.js';
import type { Silence } from '../../shared/silence.js';
import { removeContainers, testDocker, waitFor } from '../support/docker.js';
import { api, BIN, incidentDetail, incidentsOf, REPO_ROOT, startFineprint, TEST_TOKEN, type RunningFineprint } from '../support/fineprint.js';
import { startReceiver, type TestReceiver } from '../support/receivers.js';
import { oomKill } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = `fp-cli-client-${process.pid}-`;
const READ_TOKEN = 'e2e-read-token-0123456789abcdef';
const ALERTMANAGER_URL = process.env.FINEPRINT_TEST_ALERTMANAGER_URL ?? 'http://127.0.0.1:19095';
const SECRET = 'e2e-cli-webhook-secret-0123456789';

let fp: RunningFineprint;
let webhook: TestReceiver;
let notifyConfigFile: string;
/** A loopback address nothing listens on any more. */
let closedUrl: string;

/**
 * Runs the real `fineprint` binary against the running fineprint. Asynchronously: the receivers it
 * may call answer from this process.
 */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, FINEPRINT_URL: fp.url, FINEPRINT_TOKEN: TEST_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

async function oomIncident(name: string): Promise<Incident> {
  await oomKill(docker, name);
  return waitFor(async () => (await incidentsOf(fp.url, { container: name, kb: 'oom-kill' }))[0], 60_000, `the oom-kill incident of ${name}`);
}

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  webhook = await startReceiver('webhook', { secret: SECRET });
  const closed = await startReceiver('slack');
  closedUrl = closed.url;
  await closed.close();
  fp = await startFineprint({ FINEPRINT_READ_TOKENS: `ci=${READ_TOKEN}` });
  notifyConfigFile = join(fp.dataDir, 'notify.yaml');
  writeFileSync(
    notifyConfigFile,
    JSON.stringify({
      receivers: [
        { type: 'webhook', name: 'hook', url: webhook.url, secret: SECRET, timeout: '2s' },
        { type: 'alertmanager', name: 'am', url: ALERTMANAGER_URL },
        { type: 'slack', name: 'nowhere', url: closedUrl, timeout: '2s' },
      ],
    }),
  );
});
afterAll(async () => {
  await fp?.stop();
  await webhook?.close();
  await removeContainers(docker, PREFIX);
});

describe('fineprint incidents', () => {
  let incident: Incident;
  beforeAll(async () => {
    incident = await oomIncident(`${PREFIX}oom`);
  });

  it('list shows the open incident in a table, and --json what the API answered', async () => {
    const table = await cli(['incidents', 'list', '--kb', 'oom-kill']);
    expect(table.status, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+SEVERITY\s+STATUS\s+KB\s+WHERE/);
    const row = rows.find((r) => r.startsWith(incident.id));
    expect(row).toMatch(new RegExp(`critical\\s+open\\s+oom-kill\\s+${PREFIX}oom`));
    const json = await cli(['incidents', 'list', '--container', `${PREFIX}oom`, '--json']);
    expect((JSON.parse(json.stdout) as Incident[]).map((i) => i.id)).toEqual([incident.id]);
  });

  it('show prints what happened, why and how to fix it', async () => {
    const { status, stdout } = await cli(['incidents', 'show', incident.id]);
    expect(status).toBe(0);
    expect(stdout).toContain(incident.title);
    expect(stdout).toContain(`id         ${incident.id}`);
    expect(stdout).toMatch(/\nWhy:\n {2}\S/);
    expect(stdout).toMatch(/\nFix:\n {2}- \S/);
    expect(stdout).toMatch(/\nEvidence \(\d+ of \d+, newest first\):/);
  });

  it('a read token may list but not acknowledge: exit 1 with the API\'s 403, and the incident stays open', async () => {
    expect((await cli(['whoami'], { FINEPRINT_TOKEN: READ_TOKEN })).stdout).toBe(`ci (read) at ${fp.url}\n`);
    expect((await cli(['incidents', 'list'], { FINEPRINT_TOKEN: READ_TOKEN })).status).toBe(0);
    const refused = await cli(['incidents', 'ack', incident.id], { FINEPRINT_TOKEN: READ_TOKEN });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('403 FP_FORBIDDEN');
    expect((await incidentDetail(fp.url, incident.id)).status).toBe('open');
  });

  it('ack acknowledges the incident with the comment, as the API then shows', async () => {
    const { status, stdout } = await cli(['incidents', 'ack', incident.id, '--comment', 'looking at the memory limit', '--by', 'alice']);
    expect(status).toBe(0);
    expect(stdout).toMatch(new RegExp(`^${incident.id} acknowledged by alice: `));
    expect(await incidentDetail(fp.url, incident.id)).toMatchObject({ status: 'acknowledged', acknowledged: { by: 'alice', comment: 'looking at the memory limit' } });
    // Listed by default (open and acknowledged), with its status.
    expect((await cli(['incidents', 'list', '--kb', 'oom-kill'])).stdout).toMatch(new RegExp(`${incident.id}\\s+critical\\s+acknowledged`));
  });

  it('resolve resolves it; the default list then leaves it out, --all shows it', async () => {
    const { status } = await cli(['incidents', 'resolve', incident.id, '--comment', 'limit raised']);
    expect(status).toBe(0);
    expect(await incidentDetail(fp.url, incident.id)).toMatchObject({ status: 'resolved', resolved: { by: 'admin', comment: 'limit raised', auto: false } });
    expect((await cli(['incidents', 'list', '--container', `${PREFIX}oom`])).stdout).toBe('no incidents\n');
    expect((await cli(['incidents', 'list', '--container', `${PREFIX}oom`, '--all'])).stdout).toMatch(new RegExp(`${incident.id}\\s+critical\\s+resolved`));
  });

  it('an unknown incident is the API\'s 404 (exit 1); a missing id is a usage error (exit 2)', async () => {
    const missing = await cli(['incidents', 'show', 'no-such-incident']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('404 FP_NOT_FOUND');
    const usage = await cli(['incidents', 'ack']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('give one incident id');
  });
});

describe('fineprint silences', () => {
  it('add creates the silence the API then serves; list shows it; expire ends it', async () => {
    const added = await cli(['silences', 'add', 'kb=oom-kill', `container=${PREFIX}*`, '--comment', 'load test tonight', '--duration', '1h']);
    expect(added.status, added.stderr).toBe(0);
    const id = added.stdout.trim();
    const served = (await api<{ silences: Silence[] }>(fp.url, '/api/v1/silences')).silences.find((s) => s.id === id);
    expect(served).toMatchObject({ matchers: { kb: 'oom-kill', container: `${PREFIX}*` }, comment: 'load test tonight', createdBy: 'admin' });
    expect(Date.parse(served!.endsAt) - Date.parse(served!.startsAt)).toBe(3_600_000);

    const listed = await cli(['silences', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+kb=oom-kill container=${PREFIX}\\*\\s+active`));

    const expired = await cli(['silences', 'expire', id]);
    expect(expired).toMatchObject({ status: 0, stdout: `expired ${id}\n` });
    expect((await api<{ silences: Silence[] }>(fp.url, '/api/v1/silences')).silences.map((s) => s.id)).not.toContain(id);
    expect((await cli(['silences', 'expire', id])).status).toBe(1);
  });

  it('refuses a bad matcher or a missing comment before calling the API (exit 2)', async () => {
    const before = (await api<{ silences: Silence[] }>(fp.url, '/api/v1/silences')).silences.length;
    const bad = await cli(['silences', 'add', 'image=busybox', '--comment', 'x']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('"image=busybox" is not a matcher');
    expect((await cli(['silences', 'add', 'kb=oom-kill'])).stderr).toContain('--comment is required');
    expect((await api<{ silences: Silence[] }>(fp.url, '/api/v1/silences')).silences).toHaveLength(before);
  });
});

describe('the API out of reach or the token wrong', () => {
  it('no fineprint at FINEPRINT_URL: one line naming it, exit 2', async () => {
    const res = await cli(['incidents', 'list'], { FINEPRINT_URL: closedUrl.replace(/\/slack$/, '') });
    expect(res.status).toBe(2);
    expect(res.stderr).toBe(`fineprint: FP_CONFIG_INVALID: no fineprint answers at ${new URL(closedUrl).origin} (connect ECONNREFUSED ${new URL(closedUrl).host}): start one with \`fineprint start\` or set FINEPRINT_URL\n`);
  });

  it('a wrong token: the API\'s 401, exit 1', async () => {
    const res = await cli(['whoami'], { FINEPRINT_TOKEN: 'not-the-token-0123456789' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('401 FP_UNAUTHORIZED');
  });

  it('without FINEPRINT_TOKEN, the admin token in the data dir', async () => {
    // The all-in-one here runs with FINEPRINT_ADMIN_TOKEN, so its data dir has no token file yet.
    const file = join(fp.dataDir, 'admin-token');
    const none = await cli(['whoami'], { FINEPRINT_TOKEN: '', FINEPRINT_DATA_DIR: fp.dataDir });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain(`no FINEPRINT_TOKEN and no admin token in ${file}`);
    writeFileSync(file, `${TEST_TOKEN}\n`, { mode: 0o600 });
    expect((await cli(['whoami'], { FINEPRINT_TOKEN: '', FINEPRINT_DATA_DIR: fp.dataDir })).stdout).toBe(`admin (admin) at ${fp.url}\n`);
  });
});

describe('fineprint notify test', () => {
  const notify = (receiver: string) => cli(['notify', 'test', receiver], { FINEPRINT_NOTIFY_CONFIG: notifyConfigFile });

  it('sends a signed test notification through a webhook receiver and prints its answer', async () => {
    const before = webhook.arrivals.length;
    const res = await notify('hook');
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toBe(`sent: hook (webhook, ${new URL(webhook.url).origin}) answered HTTP 200 OK: {"status":"success","message":"Event processed"}\n`);
    const arrivals = webhook.arrivals.slice(before);
    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]?.problems).toEqual([]);
    expect(arrivals[0]?.json).toMatchObject({ event: 'trigger', receiver: 'hook', title: 'fineprint test notification' });
  });

  it('reports what a failing receiver answered, exit 1', async () => {
    webhook.failWith(503);
    try {
      const res = await notify('hook');
      expect(res.status).toBe(1);
      expect(res.stdout).toMatch(/^refused: hook \(webhook, .*\) answered HTTP 503 Service Unavailable: \{"error":"failing on purpose"\}\n$/);
    } finally {
      webhook.failWith(null);
    }
  });

  it('reports a receiver that cannot be reached, exit 1', async () => {
    const res = await notify('nowhere');
    expect(res.status).toBe(1);
    expect(res.stdout).toBe(`not sent: nowhere (slack, ${new URL(closedUrl).origin}) could not be reached: fetch failed: connect ECONNREFUSED ${new URL(closedUrl).host}\n`);
  });

  it('posts an alert the real Alertmanager then lists', async () => {
    const res = await notify('am');
    expect(res.status, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^sent: am \(alertmanager, .*\) answered HTTP 200 OK/);
    const alerts = (await (await fetch(`${ALERTMANAGER_URL}/api/v2/alerts?filter=${encodeURIComponent('alertname="fineprint-test"')}`)).json()) as { labels: Record<string, string> }[];
    expect(alerts.map((a) => a.labels)).toEqual(expect.arrayContaining([expect.objectContaining({ alertname: 'fineprint-test', severity: 'info', fineprint_incident: 'fineprint-test' })]));
  });

  it('an unknown receiver names the configured ones, exit 2', async () => {
    const res = await notify('pager');
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('no receiver "pager"');
    expect(res.stderr).toContain('receivers: hook, am, nowhere');
  });
});

describe('a browser session against the running fineprint', () => {
  it('signs in once, acts with the cookie and its CSRF header, and signs out', async () => {
    const incident = await oomIncident(`${PREFIX}session`);
    const signIn = await fetch(`${fp.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TEST_TOKEN }) });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const { csrf } = (await signIn.json()) as { csrf: string };

    const whoami = await fetch(`${fp.url}/api/v1/whoami`, { headers: { cookie } });
    expect(await whoami.json()).toMatchObject({ name: 'admin', scope: 'admin', via: 'session' });
    const forged = await fetch(`${fp.url}/api/v1/incidents/${incident.id}/ack`, { method: 'POST', headers: { cookie } });
    expect(forged.status).toBe(403);
    const ack = await fetch(`${fp.url}/api/v1/incidents/${incident.id}/ack`, { method: 'POST', headers: { cookie, 'x-fineprint-csrf': csrf } });
    expect(ack.status).toBe(200);
    expect((await incidentDetail(fp.url, incident.id)).status).toBe('acknowledged');

    const signOut = await fetch(`${fp.url}/api/v1/session`, { method: 'DELETE', headers: { cookie } });
    expect(signOut.status).toBe(204);
    expect(signOut.headers.getSetCookie().every((c) => c.includes('Max-Age=0'))).toBe(true);
  });
});
