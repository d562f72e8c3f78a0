// Risks are not incidents, end to end on the test dockerd with the real all-in-one: a risky and a
// careful container start; a fork bomb in the risky one files one incident that quotes the risk
// that made it possible; /api/v1/risks holds the risky container's findings and none of the careful
// one's; recreating the risky container fixed clears its risks; the page shows both (Chromium).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../shared/incident.js';
import type { RiskSummary } from '../../shared/risk.js';
import { removeContainers, TEST_IMAGE, testDocker, waitFor } from '../support/docker.js';
import { api, incidentDetail, incidentsOf, REPO_ROOT, risksOf, startFineprint, TEST_TOKEN, type RunningFineprint } from '../support/fineprint.js';

const executablePath = process.env.FINEPRINT_TEST_CHROMIUM;
if (!executablePath) {
  throw new Error('FINEPRINT_TEST_CHROMIUM is not set: run `bash scripts/services/chromium.sh start` and eval its `env`');
}

const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'screenshots');
const docker = testDocker();
const PREFIX = `fp-risks-${process.pid}-`;
const RISKY = `${PREFIX}risky`;
const CAREFUL = `${PREFIX}careful`;
const MB = 1024 * 1024;
/**
 * The fork bomb's user: no other process on the host runs as it, so `--ulimit nproc` (counted per
 * user across the host) stops the bomb at 20 processes although the container has no pids limit.
 */
const BOMB_USER = '47213:47213';
/** What the risky container's shell runs: 40 background sleeps, far past nproc 20. */
const FORK_BOMB = ['sh', '-c', 'for i in $(seq 40); do sleep 300 & done; sleep 300'];

/** Everything the audit asks for: limits, log rotation, an init, a non-root user, a restart policy. */
const CAREFUL_CONFIG: Docker.ContainerCreateOptions = {
  Image: TEST_IMAGE,
  Cmd: ['sleep', '3600'],
  User: '1000:1000',
  Labels: { 'fineprint.test': '1' },
  HostConfig: {
    NetworkMode: 'none',
    Memory: 64 * MB,
    MemorySwap: 64 * MB,
    PidsLimit: 64,
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    Init: true,
    RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
  },
};

/** The fine print left at its defaults: no limits, no rotation, a shell as PID 1, no restart policy. */
const RISKY_CONFIG: Docker.ContainerCreateOptions = {
  Image: TEST_IMAGE,
  Cmd: FORK_BOMB,
  User: BOMB_USER,
  Labels: { 'fineprint.test': '1' },
  HostConfig: {
    NetworkMode: 'none',
    LogConfig: { Type: 'json-file', Config: {} },
    Ulimits: [{ Name: 'nproc', Soft: 20, Hard: 20 }],
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
  },
};

async function run(name: string, config: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  const container = await docker.createContainer({ ...config, name });
  await container.start();
  return container;
}

let fp: RunningFineprint;
let browser: Browser;
let page: Page;
let bomb: Incident;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await removeContainers(docker, PREFIX);
  // Kernel records off: other tests' kernel lines on the shared host must not add incidents here.
  // A re-audit every 2 s: a finding fixed in place (docker update) goes without a restart.
  fp = await startFineprint({ FINEPRINT_KMSG: 'off', FINEPRINT_AUDIT_INTERVAL: '2' });
  await run(CAREFUL, CAREFUL_CONFIG);
  await run(RISKY, RISKY_CONFIG);
  bomb = await waitFor(async () => (await incidentsOf(fp.url, { container: RISKY })).find((i) => i.kbId === 'pids-exhausted'), 60_000, 'the fork bomb incident');
  browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
});

afterAll(async () => {
  await browser?.close();
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('risks are not incidents', () => {
  it('the incident list holds the fork bomb alone, quoting the risk that made it possible', async () => {
    // The start audits (risky: six findings) have long been applied when the bomb's line arrives.
    await waitFor(async () => ((await risksOf(fp.url, { container: RISKY })).length > 0 ? true : undefined), 30_000, 'the risky container to be audited');
    const incidents = await incidentsOf(fp.url, {});
    expect(incidents.map((i) => [i.kbId, i.container?.name])).toEqual([['pids-exhausted', RISKY]]);
    expect(incidents.some((i) => i.fingerprint.startsWith('risk:') || i.title.startsWith('Risk:'))).toBe(false);
    const facets = await api<{ total: number; kb: { value: string }[] }>(fp.url, '/api/v1/incidents/facets');
    expect(facets.total).toBe(1);
    expect(facets.kb.map((f) => f.value)).toEqual(['pids-exhausted']);

    const detail = await incidentDetail(fp.url, bomb.id);
    expect(detail.evidence.some((e) => /can't fork/.test(e.message))).toBe(true);
    expect(detail.risks.map((r) => r.kbId)).toEqual(['pids-exhausted', 'zombie-reaping']);
    expect(detail.risks[0]?.message).toMatch(/no pids limit/);
    expect(detail.risks[0]?.fix).toContain(`--pids-limit 512 ${RISKY}`);
  });

  it('/api/v1/risks holds the findings of the risky container and none of the careful one', async () => {
    const risky = await risksOf(fp.url, { container: RISKY });
    const kbIds = risky.map((r) => r.kbId);
    expect(kbIds).toEqual(expect.arrayContaining(['oom-kill', 'pids-exhausted', 'container-log-growth', 'sigterm-ignored', 'zombie-reaping']));
    expect(new Set(kbIds).size).toBe(kbIds.length);
    // Most severe first.
    const ranks = risky.map((r) => ['info', 'low', 'medium', 'high', 'critical'].indexOf(r.severity));
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    for (const risk of risky) expect(risk.container?.name).toBe(RISKY);
    expect(await risksOf(fp.url, { container: CAREFUL })).toEqual([]);
    expect(await risksOf(fp.url, { container: RISKY, kbId: 'pids-exhausted' })).toHaveLength(1);

    const summary = await api<RiskSummary>(fp.url, '/api/v1/risks/summary');
    const worst = summary.worstContainers.find((c) => c.container.name === RISKY);
    expect(worst?.total).toBe(risky.length);
    expect(summary.worstContainers.some((c) => c.container.name === CAREFUL)).toBe(false);
    const facets = await api<{ total: number; container: { value: string; count: number }[] }>(fp.url, `/api/v1/risks/facets?container=${RISKY}`);
    expect(facets.container).toEqual([{ value: RISKY, count: risky.length }]);
  });

  it('the page shows the risks per container, the daemon on top, and the foreseeable risk above the fix', async () => {
    await page.goto(fp.url);
    await page.getByLabel('API token').fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Risks', exact: true }).click();
    const risky = page.locator('article.risk-subject', { has: page.getByRole('heading', { name: new RegExp(RISKY) }) });
    await risky.waitFor();
    const shownKb = await risky.locator('tr.risk td a').allTextContents();
    expect(shownKb.sort()).toEqual((await risksOf(fp.url, { container: RISKY })).map((r) => r.kbId).sort());
    expect(await risky.locator('tr.risk', { hasText: 'pids-exhausted' }).locator('.risk-fix').textContent()).toContain(`--pids-limit 512 ${RISKY}`);
    expect(await page.locator('article.risk-subject', { has: page.getByRole('heading', { name: new RegExp(CAREFUL) }) }).count()).toBe(0);
    // Sorted by severity: each container's first row is its most severe finding.
    const severities = await risky.locator('tr.risk').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.severity));
    expect(severities[0]).toBe('medium');
    expect(severities.at(-1)).toBe('low');
    // The daemon's own findings (if the test daemon has any) come before every container.
    const daemon = (await risksOf(fp.url, { container: 'daemon' })).length;
    const sections = await page.locator('main section.risks').evaluateAll((s) => s.map((e) => e.getAttribute('aria-label')));
    expect(sections).toEqual(daemon > 0 ? ['Docker daemon', 'Containers'] : ['Containers']);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'risks.png'), fullPage: true });
    await page.getByRole('button', { name: 'by name' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/risks?sort=name');
    await risky.waitFor();

    await page.goto(`${fp.url}/#/incidents/${bomb.id}`);
    const foreseeable = page.locator('section.foreseeable');
    await foreseeable.waitFor();
    expect(await foreseeable.getByRole('heading').textContent()).toBe('This was foreseeable');
    expect(await foreseeable.textContent()).toContain('no pids limit');
    // Above the fix: the section comes before "How to fix it" in the page.
    const order = await page.locator('main h2').allTextContents();
    expect(order.indexOf('This was foreseeable')).toBeLessThan(order.indexOf('How to fix it'));
    expect(order.indexOf('This was foreseeable')).toBeGreaterThanOrEqual(0);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'incident-foreseeable.png'), fullPage: false });
  });

  it('the periodic re-audit drops a finding fixed in place and keeps the others', async () => {
    const name = `${PREFIX}fixable`;
    const config = CAREFUL_CONFIG.HostConfig ?? {};
    const container = await run(name, { ...CAREFUL_CONFIG, HostConfig: { ...config, PidsLimit: 0, Memory: 0, MemorySwap: 0 } });
    const kbIdsOf = async () => (await risksOf(fp.url, { container: name })).map((r) => r.kbId).sort();
    await waitFor(async () => ((await kbIdsOf()).length === 2 ? true : undefined), 30_000, `the risks of ${name}`);
    expect(await kbIdsOf()).toEqual(['oom-kill', 'pids-exhausted']);
    await container.update({ PidsLimit: 64 });
    await waitFor(async () => ((await kbIdsOf()).length === 1 ? true : undefined), 30_000, `the re-audit of ${name}`);
    expect(await kbIdsOf()).toEqual(['oom-kill']);
    expect(await incidentsOf(fp.url, { container: name })).toEqual([]);
  });

  it('recreating the risky container fixed removes its risks; the incident keeps the risk it quoted', async () => {
    const old = (await risksOf(fp.url, { container: RISKY }))[0]?.container?.id;
    await docker.getContainer(RISKY).remove({ force: true });
    const fixed = await run(RISKY, CAREFUL_CONFIG);
    await waitFor(async () => ((await risksOf(fp.url, { container: RISKY })).length === 0 ? true : undefined), 30_000, 'the recreated container to lose its risks');
    expect(await risksOf(fp.url, { container: old ?? '' })).toEqual([]);
    // The new container was audited: its facts are known, and it has nothing to fix.
    expect((await fixed.inspect()).Id).not.toBe(old);
    expect((await incidentDetail(fp.url, bomb.id)).risks.map((r) => r.kbId)).toEqual(['pids-exhausted', 'zombie-reaping']);
    await page.goto(`${fp.url}/#/risks`);
    await page.locator('main h1', { hasText: 'Risks' }).waitFor();
    await page.locator('.risk-totals').waitFor();
    expect(await page.locator('article.risk-subject', { has: page.getByRole('heading', { name: new RegExp(RISKY) }) }).count()).toBe(0);
  });
});
