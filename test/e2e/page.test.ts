// The page in a real headless Chromium (Debian's, scripts/services/chromium.sh) against the real
// all-in-one on the test dockerd: signing in once per browser, the containers view, the incident
// list (search, facets, several severities, most severe first) keeping itself current, an incident
// filed by a real OOM kill, a crash loop of OOM kills shown under its OOM kill and linked both ways,
// acknowledging and silencing it, the silences view, a read-only token,
// attacker-controlled text rendered as text only, a phone's width and the system's dark mode.
// The stats view of the same incidents. Screenshots (desktop and 390 px) go to docs/screenshots/, where the README and docs/api.md show them.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../shared/incident.js';
import type { Silence } from '../../shared/silence.js';
import type { IncidentStats } from '../../shared/store/stats.js';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { api, incidentDetail, incidentsOf, REPO_ROOT, startFineprint, TEST_TOKEN, type RunningFineprint } from '../support/fineprint.js';
import { ALLOCATE, onlyIncident } from '../support/scenarios.js';

const executablePath = process.env.FINEPRINT_TEST_CHROMIUM;
if (!executablePath) {
  throw new Error('FINEPRINT_TEST_CHROMIUM is not set: run `bash scripts/services/chromium.sh start` and eval its `env`');
}

const SCREENSHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
const docker = testDocker();
const PREFIX = `fp-page-${process.pid}-`;
const OOM = `${PREFIX}oom`;
const EVIL = `${PREFIX}evil`;
const CRASH = `${PREFIX}crash`;
const LATE = `${PREFIX}late`;
const JVM = `${PREFIX}jvm`;
/** OOM-killed at every start under a restart policy: a crash loop that is a consequence of the OOM kills. */
const LOOP = `${PREFIX}oom-loop`;
const MB = 1024 * 1024;
const READ_TOKEN = 'e2e-read-token-0123456789abcdef';
/** A zone an hour off UTC in winter: times on the page must name it, and show UTC on hover. */
const TIMEZONE = 'Europe/Paris';
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
/** Markup in a log line and a label: must show as these characters, never as elements or script. */
const EVIL_LINE = `<script>window.__fpXss = 1; alert('script')</script><img src=x onerror="window.__fpXss = 2; alert('img')"> write /data/x: No space left on device`;
const EVIL_LABEL = `<img src=x onerror="window.__fpXss = 3"><b>bold</b>`;

let fp: RunningFineprint;
let browser: Browser;
let admin: BrowserContext;
let page: Page;
let oom: Incident;
let evil: Incident;
let loopCause: Incident;
let loopConsequence: Incident;
const dialogs: string[] = [];

async function screenshot(p: Page, name: string, fullPage = true): Promise<void> {
  await p.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
}

/** KB prose as the page shows it: `code` spans become <code> elements, without the backticks. */
const shown = (text: string | undefined) => text?.replaceAll('`', '');

/** Container names in the rows of the incident list, once it has loaded. */
async function listedContainers(p: Page = page): Promise<string[]> {
  await p.locator('table.incidents, p.empty').first().waitFor();
  return p.locator('table.incidents tbody tr td .container').allTextContents();
}

/** A browser profile of its own (cookies, tabs), in the test's time zone. */
async function newBrowserContext(options: { viewport?: typeof DESKTOP; colorScheme?: 'light' | 'dark' } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP, timezoneId: TIMEZONE, colorScheme: options.colorScheme ?? 'light' });
  context.on('page', (p) =>
    p.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    }),
  );
  return context;
}

async function signIn(p: Page, token: string): Promise<void> {
  await p.getByLabel('API token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('button', { name: 'Forget token' }).waitFor();
}

/** The page is no wider than its window: nothing to scroll sideways. */
async function horizontalOverflow(p: Page): Promise<number> {
  return p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await removeContainers(docker, PREFIX);
  fp = await startFineprint({ FINEPRINT_READ_TOKENS: `viewer=${READ_TOKEN}` });
  // A real OOM kill, a crash loop (restarts), and a container whose log line and labels carry markup (disk-full evidence).
  await runContainer(docker, { name: OOM, cmd: ALLOCATE, memory: 32 * MB });
  await runContainer(docker, { name: CRASH, restart: { name: 'on-failure', maximumRetryCount: 3 }, cmd: ['sh', '-c', 'echo starting; exit 3'] });
  await runContainer(docker, { name: LOOP, restart: { name: 'on-failure', maximumRetryCount: 3 }, cmd: ALLOCATE, memory: 32 * MB });
  // A low-severity incident: a JDK tool missing from the image.
  await runContainer(docker, { name: JVM, cmd: ['sh', '-c', "echo 'sh: jstack: not found'; sleep 300"] });
  await runContainer(docker, { name: EVIL, labels: { 'com.example.note': EVIL_LABEL }, cmd: ['sh', '-c', `echo '${EVIL_LINE.replace(/'/g, `'"'"'`)}'; sleep 300`] });
  const loopIncidents = waitFor(
    async () => {
      const filed = await incidentsOf(fp.url, { container: LOOP });
      const [cause, consequence] = [filed.find((i) => i.kbId === 'oom-kill'), filed.find((i) => i.kbId === 'crash-loop')];
      return cause && consequence?.causedBy ? ([cause, consequence] as const) : undefined;
    },
    60_000,
    `an oom-kill and a crash-loop linked under it for ${LOOP}`,
  );
  [oom, evil, , , [loopCause, loopConsequence]] = await Promise.all([
    onlyIncident(fp.url, OOM, 'oom-kill'),
    onlyIncident(fp.url, EVIL, 'disk-full'),
    onlyIncident(fp.url, CRASH, 'crash-loop', 60_000),
    onlyIncident(fp.url, JVM, 'jvm-debug-tools'),
    loopIncidents,
  ]);

  browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  admin = await newBrowserContext();
  page = await admin.newPage();
});

afterAll(async () => {
  await browser?.close();
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('the page in headless Chromium', () => {
  it('serves the page with a strict Content-Security-Policy and signs in once per browser, not per tab', async () => {
    const response = await page.goto(fp.url);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    await signIn(page, TEST_TOKEN);
    // The session is an HttpOnly cookie; the token is kept nowhere a script can read.
    const session = (await admin.cookies()).find((c) => c.name === 'fineprint_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie)).not.toContain(TEST_TOKEN);

    // A link from a notification opens in a new tab: signed in already.
    const tab = await admin.newPage();
    await tab.goto(`${fp.url}/#/incidents/${oom.id}`);
    await tab.locator('header.incident h1').waitFor();
    expect(await tab.getByLabel('API token').count()).toBe(0);
    await tab.close();
  });

  it('starts from the containers: state, restarts, unresolved incidents and risks of each', async () => {
    await page.goto(`${fp.url}/#/containers`);
    const row = (name: string) => page.locator(`tr.container-row[data-container="${name}"]`);
    await row(OOM).waitFor();
    const crash = await incidentsOf(fp.url, { container: CRASH });
    const crashFacts = (await incidentDetail(fp.url, crash[0]?.id ?? '')).facts;
    await expect.poll(() => row(CRASH).locator('td.restarts').textContent()).toContain(String(crashFacts?.state.restartCount));
    expect(crashFacts?.state.restartCount).toBeGreaterThan(0);
    // As Docker reported it with the latest incident (its OOMKilled flag misses kills of a child process).
    const oomState = (await incidentDetail(fp.url, oom.id)).facts?.state;
    expect(await row(OOM).locator('td.state').textContent()).toContain(`${oomState?.status} exit ${oomState?.exitCode}${oomState?.oomKilled ? ' OOM-killed' : 'as of'}`);
    expect(await row(OOM).locator(`td.open a[href="#/incidents/${oom.id}"]`).count()).toBe(1);
    expect(await row(EVIL).locator('td.state .cstate').textContent()).toBe('running');
    // The audit's risks of a container show beside its incidents (busybox runs as root, without limits).
    const risks = await api<{ risks: { kbId: string }[] }>(fp.url, `/api/v1/risks?container=${EVIL}`);
    expect(risks.risks.length).toBeGreaterThan(0);
    expect(await row(EVIL).locator('td.risks').textContent()).toContain(risks.risks[0]?.kbId);
    await screenshot(page, 'containers', false);
  });

  it('lists incidents most severe first, then most recent, with the open count in the tab title', async () => {
    await page.goto(`${fp.url}/#/incidents`);
    await expect.poll(() => listedContainers()).toEqual(expect.arrayContaining([OOM, EVIL, CRASH]));
    // Consequences sit under their cause, whatever their own severity: the order is of the others.
    const ids = await page.locator('table.incidents tbody tr:not(.consequence)').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id ?? ''));
    const byId = new Map((await incidentsOf(fp.url, {})).map((i) => [i.id, i]));
    const listed = ids.map((id) => byId.get(id)).filter((i): i is Incident => i !== undefined);
    expect(listed.length).toBe(ids.length);
    for (let i = 1; i < listed.length; i += 1) {
      const [a, b] = [listed[i - 1] as Incident, listed[i] as Incident];
      const order = SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity);
      expect(order <= 0, `${a.severity} then ${b.severity}`).toBe(true);
      if (order === 0) expect(a.lastSeen >= b.lastSeen).toBe(true);
    }
    const open = await api<{ total: number }>(fp.url, '/api/v1/incidents/facets?status=open');
    expect(open.total).toBeGreaterThan(0);
    await expect.poll(() => page.title(), { timeout: 10_000 }).toBe(`(${open.total}) Incidents · fineprint`);
    await screenshot(page, 'incidents', false);
  });

  it('shows a crash loop of OOM kills under its OOM kill, not as a row of its own, and links the two both ways', async () => {
    // The API: the consequence names its cause, the cause lists its consequences.
    expect(loopConsequence.causedBy).toBe(loopCause.id);
    expect(loopCause.causedBy).toBeNull();
    const causeDetail = await incidentDetail(fp.url, loopCause.id);
    expect(causeDetail.consequences).toEqual([{ id: loopConsequence.id, kbId: 'crash-loop', title: loopConsequence.title }]);
    expect((await incidentDetail(fp.url, loopConsequence.id)).cause).toEqual({ id: loopCause.id, kbId: 'oom-kill', title: loopCause.title });

    // The list: the crash loop is the row right under the OOM kill, indented, in either order of sorting.
    for (const view of ['#/incidents', '#/incidents?sort=recent']) {
      await page.goto(`${fp.url}/${view}`);
      const causeRow = page.locator(`table.incidents tbody tr[data-id="${loopCause.id}"]`);
      await causeRow.waitFor();
      expect(await causeRow.getAttribute('class')).not.toContain('consequence');
      expect(await page.locator(`tr[data-id="${loopCause.id}"] + tr`).getAttribute('data-id'), view).toBe(loopConsequence.id);
      expect(await page.locator(`tr.consequence[data-id="${loopConsequence.id}"] a.caused-by`).getAttribute('href')).toBe(`#/incidents/${loopCause.id}`);
      const indent = async (id: string) => (await page.locator(`tr[data-id="${id}"] a.title`).boundingBox())?.x ?? 0;
      expect(await indent(loopConsequence.id)).toBeGreaterThan(await indent(loopCause.id));
    }

    // The cause's page lists its consequence; the consequence's page links back to its cause.
    await page.goto(`${fp.url}/#/incidents/${loopCause.id}`);
    const consequenceLink = page.locator(`header.incident ul.consequences a[href="#/incidents/${loopConsequence.id}"]`);
    await consequenceLink.waitFor();
    expect(await consequenceLink.textContent()).toBe(loopConsequence.title);
    await consequenceLink.click();
    const causeLink = page.locator('header.incident dt:has-text("Caused by") + dd a');
    await causeLink.waitFor();
    expect(await causeLink.getAttribute('href')).toBe(`#/incidents/${loopCause.id}`);
    expect(await causeLink.textContent()).toBe(loopCause.title);
    await screenshot(page, 'incident-consequence', false);
    // Back to the list, where the next test filters.
    await page.goto(`${fp.url}/#/incidents`);
    await page.locator('table.incidents').waitFor();
  });

  it('filters by several severities at once and by "medium or worse"', async () => {
    // The OOM kill is critical, the disk full high, the missing jstack low.
    for (const s of ['critical', 'low']) await page.locator(`.severities input[value="${s}"]`).check();
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.evaluate(() => decodeURIComponent(location.hash))).toContain('severity=critical,low');
    await expect.poll(() => listedContainers()).not.toContain(EVIL);
    const both = await page.locator('table.incidents tbody .badge').allTextContents();
    expect(both.every((s) => s === 'critical' || s === 'low')).toBe(true);
    expect(await listedContainers()).toEqual(expect.arrayContaining([OOM, JVM]));
    expect(await page.locator('.severities input[value="critical"]').isChecked()).toBe(true);

    // "medium or worse": the list asks for those severities only, and shows as many as the API has.
    const asked: string[] = [];
    const listen = (r: { url(): string }) => {
      const url = new URL(r.url());
      if (url.pathname === '/api/v1/incidents') asked.push(url.searchParams.get('severity') ?? 'any');
    };
    page.on('request', listen);
    await page.goto(`${fp.url}/#/incidents`);
    await expect.poll(() => page.locator('.severities input[value="critical"]').isChecked()).toBe(false);
    await page.locator('select[name="minSeverity"]').selectOption('medium');
    asked.length = 0;
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('minSeverity=medium');
    await expect
      .poll(async () => (await page.locator('table.incidents tbody tr').count()) === (await incidentsOf(fp.url, { minSeverity: 'medium' })).length)
      .toBe(true);
    page.off('request', listen);
    expect(await listedContainers()).toEqual(expect.arrayContaining([OOM, EVIL]));
    expect(await listedContainers()).not.toContain(JVM);
    const shownSeverities = await page.locator('table.incidents tbody .badge').allTextContents();
    expect(shownSeverities.every((s) => ['critical', 'high', 'medium'].includes(s))).toBe(true);
    expect(new Set(asked.filter((s) => s !== 'any'))).toEqual(new Set(['critical', 'high', 'medium']));
  });

  it('shows a new incident and the new open count without a reload, answering 304 while nothing changes', async () => {
    await page.goto(`${fp.url}/#/incidents`);
    await expect.poll(() => listedContainers()).toContain(OOM);
    await page.evaluate(() => ((window as unknown as { __notReloaded?: boolean }).__notReloaded = true));
    const notModified: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 304 && r.url().includes('/api/v1/incidents')) notModified.push(r.url());
    });
    await expect.poll(() => notModified.length, { timeout: 20_000 }).toBeGreaterThan(0);
    const before = (await api<{ total: number }>(fp.url, '/api/v1/incidents/facets?status=open')).total;

    await runContainer(docker, { name: LATE, cmd: ALLOCATE, memory: 32 * MB });
    await expect.poll(() => listedContainers(), { timeout: 30_000 }).toContain(LATE);
    const after = (await api<{ total: number }>(fp.url, '/api/v1/incidents/facets?status=open')).total;
    expect(after).toBeGreaterThan(before);
    await expect.poll(() => page.title(), { timeout: 20_000 }).toBe(`(${after}) Incidents · fineprint`);
    expect(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).toBe(true);
  });

  it('searches full text, filters by facet and shows the counts and the histogram', async () => {
    await page.goto(`${fp.url}/#/incidents`);
    await page.getByLabel('Search').fill('no space left');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('q=no+space+left');
    // The list is redrawn for the search: the disk-full line matches, the OOM kill does not.
    await expect.poll(async () => ((c) => c.includes(EVIL) && !c.includes(OOM))(await listedContainers())).toBe(true);
    // Other tests' containers on the shared test dockerd file incidents too: the page agrees with itself.
    const rows = await page.locator('table.incidents tbody tr').count();
    expect(await page.locator('.list-head .total').textContent()).toBe(`${rows} incident${rows === 1 ? '' : 's'}`);

    await page.goto(`${fp.url}/#/incidents?sort=recent`);
    await expect.poll(() => listedContainers()).toEqual(expect.arrayContaining([OOM, EVIL]));
    expect(await page.locator('.histogram .bar').count()).toBe(24);
    const kbFacet = page.locator('.facet', { has: page.getByRole('heading', { name: 'KB entry' }) });
    const oomFacet = kbFacet.getByRole('button', { name: /Container killed by the kernel OOM killer/ });
    const facets = await api<{ kb: { value: string; count: number }[] }>(fp.url, '/api/v1/incidents/facets');
    const oomCount = facets.kb.find((f) => f.value === 'oom-kill')?.count;
    expect(await oomFacet.locator('.count').textContent()).toBe(String(oomCount));
    await oomFacet.click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('kb=oom-kill');
    await expect.poll(async () => (await page.locator('table.incidents tbody .kb').allTextContents()).every((k) => k === 'oom-kill')).toBe(true);
    expect(await listedContainers()).toContain(OOM);
  });

  it('opens the OOM kill: why and fix, evidence on a timeline, container facts, times with their zone', async () => {
    await page.goto(`${fp.url}/#/incidents`);
    await page.locator(`a[href="#/incidents/${oom.id}"]`).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/incidents/${oom.id}`);
    const detail = await incidentDetail(fp.url, oom.id);
    await page.getByRole('heading', { name: 'Why it happened' }).waitFor();
    expect(await page.locator('.kb .why').textContent()).toBe(shown(detail.kb?.why));
    expect(await page.locator('.kb .fix li').allTextContents()).toEqual(detail.kb?.fix.map(shown));
    expect(await page.locator('.timeline li').count()).toBe(detail.evidence.length);
    expect(await page.locator('.timeline code').allTextContents()).toEqual(expect.arrayContaining(['oom', 'die']));
    expect(await page.locator('.timeline li.kind-kernel').count()).toBe(detail.evidence.filter((e) => e.kind === 'kernel').length);
    const facts = page.locator('.container-facts');
    await expect.poll(() => facts.locator('dt:has-text("Memory limit") + dd').textContent()).toBe('32 MiB');
    expect(await facts.locator('dt:has-text("Restart policy") + dd').textContent()).toBe('no');
    // First seen in Paris time, named as such; UTC on hover.
    const firstSeen = page.locator('header.incident dt:has-text("First seen") + dd time');
    const paris = new Intl.DateTimeFormat('en-US', { timeZone: TIMEZONE, timeZoneName: 'short' }).formatToParts(new Date(detail.firstSeen)).find((p) => p.type === 'timeZoneName')?.value;
    expect(await firstSeen.textContent()).toMatch(new RegExp(`\\d{2}:\\d{2}:\\d{2} ${paris?.replace('+', '\\+')}$`));
    expect(await firstSeen.getAttribute('title')).toBe(`${detail.firstSeen.slice(0, 19).replace('T', ' ')} UTC`);
    // No receiver is configured: the page says so, and what to set.
    expect(await page.locator('.notifications .none-sent').textContent()).toMatch(/^None sent: no receiver is configured\. Set FINEPRINT_NOTIFY_CONFIG/);
    await screenshot(page, 'incident');
  });

  it('acknowledges the incident and silences its container with an admin token', async () => {
    await page.getByLabel('Comment', { exact: true }).fill('looking into the heap');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.locator('header.incident .status').textContent()).toBe('acknowledged');
    const acked = await incidentDetail(fp.url, oom.id);
    expect(acked.acknowledged).toMatchObject({ by: 'admin', comment: 'looking into the heap' });
    expect(await page.getByRole('button', { name: 'Acknowledge' }).isDisabled()).toBe(true);

    await page.getByLabel('Silence comment').fill('load test of the allocator');
    await page.locator('select[name="for"]').selectOption('4h');
    await page.getByRole('button', { name: 'Silence' }).click();
    await page.getByText(/^Silenced until/).waitFor();
    const { silences } = await api<{ silences: Silence[] }>(fp.url, '/api/v1/silences');
    const silence = silences.find((s) => s.comment === 'load test of the allocator');
    expect(silence?.matchers).toEqual({ kb: 'oom-kill', container: OOM });
    const hours = (Date.parse(silence?.endsAt ?? '') - Date.parse(silence?.startsAt ?? '')) / 3_600_000;
    expect(hours).toBeGreaterThan(3.9);
    expect(hours).toBeLessThanOrEqual(4);
  });

  it('lists, creates and expires silences', async () => {
    await page.getByRole('link', { name: 'Silences', exact: true }).click();
    const row = (comment: string) => page.locator('tr.silence', { hasText: comment });
    await row('load test of the allocator').waitFor();
    expect(await row('load test of the allocator').locator('td.matchers').textContent()).toBe(`kb = oom-killcontainer = ${OOM}`);

    await page.getByLabel('Container').fill(`${PREFIX}*`);
    await page.getByLabel('Why').fill('page test maintenance');
    await page.locator('select[name="duration"]').selectOption('1h');
    await page.getByRole('button', { name: 'Silence', exact: true }).click();
    await row('page test maintenance').waitFor();
    const created = (await api<{ silences: Silence[] }>(fp.url, '/api/v1/silences')).silences.find((s) => s.comment === 'page test maintenance');
    expect(created?.matchers).toEqual({ container: `${PREFIX}*` });
    await screenshot(page, 'silences', false);

    await row('page test maintenance').getByRole('button', { name: 'Expire now' }).click();
    await expect.poll(() => row('page test maintenance').count()).toBe(0);
    expect((await api<{ silences: Silence[] }>(fp.url, '/api/v1/silences')).silences.some((s) => s.comment === 'page test maintenance')).toBe(false);
  });

  it('shows the stats of the last 7 days: per KB entry, image and host, mean times to acknowledge and resolve, repeat offenders', async () => {
    // A read token may ask for them.
    const stats = await api<IncidentStats>(fp.url, '/api/v1/stats', READ_TOKEN);
    expect(Date.parse(stats.to) - Date.parse(stats.from)).toBe(7 * 86_400_000);
    expect(stats.kb.find((k) => k.value === 'oom-kill')?.count).toBeGreaterThanOrEqual(2);
    expect(stats.offenders.map((o) => o.container)).toContain(LOOP);
    // The OOM kill was acknowledged above.
    expect(stats.timeToAcknowledge.incidents).toBeGreaterThanOrEqual(1);

    await page.getByRole('link', { name: 'Stats', exact: true }).click();
    await page.locator('.stats-totals .total').waitFor();
    expect(await page.locator('.stats-totals .total').textContent()).toBe(String(stats.total));
    expect(await page.locator('.stats-totals .mtta').textContent()).toMatch(new RegExp(` over ${stats.timeToAcknowledge.incidents} acknowledged$`));
    const count = (section: string, value: string) => page.locator(`.stats-${section} tr[data-value="${value}"] td.count`).textContent();
    expect(await count('kb', 'oom-kill')).toBe(String(stats.kb.find((k) => k.value === 'oom-kill')?.count));
    expect(await count('image', stats.image[0]?.value ?? '')).toBe(String(stats.image[0]?.count));
    expect(await count('host', stats.host[0]?.value ?? '')).toBe(String(stats.host[0]?.count));
    expect(await page.locator('.stats-offenders tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.container))).toEqual(
      stats.offenders.map((o) => o.container),
    );
    await screenshot(page, 'stats');
    // A count leads to the incidents it counts.
    await page.locator('.stats-kb tr[data-value="oom-kill"] a').click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('kb=oom-kill');
    await expect.poll(() => listedContainers()).toContain(OOM);
  });

  it('renders <script> and <img onerror> from a log line and a label as text and runs none of it', async () => {
    await page.goto(`${fp.url}/#/incidents?q=${encodeURIComponent('space')}`);
    await expect.poll(() => listedContainers()).toContain(EVIL);
    await page.locator(`a[href="#/incidents/${evil.id}"]`).click();
    await page.getByRole('heading', { name: /^Evidence/ }).waitFor();
    const served = (await incidentDetail(fp.url, evil.id)).evidence.map((e) => e.message);
    const line = served.find((m) => m.includes('<script>'));
    expect(line, `evidence as served: ${JSON.stringify(served)}`).toContain(`<img src=x onerror=`);
    await page.locator('.timeline pre.line', { hasText: '<script>window.__fpXss = 1;' }).waitFor();
    expect(await page.locator('.timeline pre.line').allTextContents()).toContain(line);
    await expect.poll(() => page.locator('.container-facts .labels').textContent()).toContain(`com.example.note=${EVIL_LABEL}`);
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __fpXss?: number }).__fpXss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.goto(`${fp.url}/#/incidents?container=${EVIL}`);
    await page.locator('table.incidents .message', { hasText: '<img src=x' }).waitFor();
    expect(await page.locator('main img, main script').count()).toBe(0);
    await page.goto(`${fp.url}/#/containers`);
    await page.locator(`tr.container-row[data-container="${EVIL}"]`).waitFor();
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('browses the knowledge base and links an entry to its incidents', async () => {
    await page.getByRole('link', { name: 'Knowledge base', exact: true }).click();
    const { entries } = await api<{ entries: { id: string; title: string }[] }>(fp.url, '/api/v1/kb');
    await expect.poll(() => page.locator('.kb-list li').count()).toBe(entries.length);
    await page.getByLabel('Filter entries').fill('oom');
    await expect.poll(() => page.locator('.kb-list li').count()).toBeLessThan(entries.length);
    await page.locator('.kb-list a[href="#/kb/oom-kill"]').click();
    await page.getByRole('heading', { name: 'Why' }).waitFor();
    const entry = await api<{ why: string }>(fp.url, '/api/v1/kb/oom-kill');
    expect(await page.locator('.kb .why').textContent()).toBe(shown(entry.why));
    await page.getByRole('link', { name: 'incidents of this entry' }).click();
    await expect.poll(() => listedContainers()).toContain(OOM);
    expect(await page.locator('select[name="kb"]').inputValue()).toBe('oom-kill');
  });

  it('shows a read-only token no acknowledge, resolve or silence control, and says why', async () => {
    const viewer = await newBrowserContext();
    const p = await viewer.newPage();
    await p.goto(`${fp.url}/#/incidents/${evil.id}`);
    await signIn(p, READ_TOKEN);
    await p.locator('header.incident h1').waitFor();
    expect(await p.locator('.read-only').textContent()).toContain('need an admin token');
    expect(await p.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Resolve' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Silence' }).count()).toBe(0);
    await screenshot(p, 'incident-read-only', false);
    await p.getByRole('link', { name: 'Silences', exact: true }).click();
    await p.locator('tr.silence').first().waitFor();
    expect(await p.locator('form.silence-new').count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Expire now' }).count()).toBe(0);
    await viewer.close();
  });

  it('fits a phone: the incident list first, nothing wider than 390 px, on every view', async () => {
    const phone = await newBrowserContext({ viewport: PHONE });
    const p = await phone.newPage();
    await p.goto(`${fp.url}/#/incidents`);
    await signIn(p, TEST_TOKEN);
    await expect.poll(() => listedContainers(p)).toContain(OOM);
    const list = await p.locator('table.incidents').boundingBox();
    const facets = await p.locator('aside.facets').boundingBox();
    expect(list && facets && list.y < facets.y).toBe(true);
    // Above the fold: the filters fold away on a phone until one is set.
    expect(list && list.y < PHONE.height / 2).toBe(true);
    expect(await p.locator('details.filters').getAttribute('open')).toBeNull();
    expect(await horizontalOverflow(p)).toBeLessThanOrEqual(0);
    await screenshot(p, 'incidents-390', false);
    for (const [view, ready, name] of [
      ['#/containers', 'table.containers', 'containers-390'],
      [`#/incidents/${oom.id}`, '.timeline', 'incident-390'],
      [`#/incidents/${evil.id}`, '.timeline', null],
      ['#/silences', 'tr.silence', 'silences-390'],
      ['#/risks', '.risk-subject', 'risks-390'],
      ['#/stats', '.stats-totals', 'stats-390'],
      ['#/kb', '.kb-list li', null],
      ['#/kb/oom-kill', '.kb .why', null],
    ] as const) {
      await p.goto(`${fp.url}/${view}`);
      await p.locator(ready).first().waitFor();
      if (name) await screenshot(p, name, false);
      expect(await horizontalOverflow(p), view).toBeLessThanOrEqual(0);
    }
    await phone.close();
  });

  it("follows the system's dark mode", async () => {
    const dark = await newBrowserContext({ colorScheme: 'dark' });
    const p = await dark.newPage();
    await p.goto(`${fp.url}/#/incidents`);
    await signIn(p, TEST_TOKEN);
    await expect.poll(() => listedContainers(p)).toContain(OOM);
    const luminance = async (selector: string, property: 'color' | 'backgroundColor') => {
      const rgb = await p.locator(selector).first().evaluate((el, prop) => getComputedStyle(el)[prop], property);
      const [r, g, b] = (rgb.match(/\d+/g) ?? []).map(Number) as [number, number, number];
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    expect(await luminance('html', 'backgroundColor')).toBeLessThan(0.15);
    expect(await luminance('table.incidents td.what a', 'color')).toBeGreaterThan(0.5);
    await screenshot(p, 'incidents-dark', false);
    await dark.close();
  });

  it('"Forget token" signs every tab of the browser out', async () => {
    const other = await admin.newPage();
    await other.goto(`${fp.url}/#/containers`);
    await other.locator('table.containers').waitFor();
    await page.goto(`${fp.url}/#/incidents`);
    await page.getByRole('button', { name: 'Forget token' }).click();
    await page.getByLabel('API token').waitFor();
    await other.getByLabel('API token').waitFor();
    expect((await admin.cookies()).some((c) => c.name === 'fineprint_session' && c.value)).toBe(false);
    // A new tab asks again, and the API refuses the old tab's requests.
    const again = await admin.newPage();
    await again.goto(`${fp.url}/#/incidents`);
    await again.getByLabel('API token').waitFor();
    expect(await again.evaluate(async () => (await fetch('/api/v1/whoami')).status)).toBe(401);
  });

  it('answers an unchanged list with 304, and serves the files compressed with validators', async () => {
    const first = await fetch(`${fp.url}/api/v1/incidents?limit=5`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const etag = first.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    const same = await fetch(`${fp.url}/api/v1/incidents?limit=5`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, 'if-none-match': etag } });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');

    const asset = await fetch(`${fp.url}/ui/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    const assetTag = asset.headers.get('etag') ?? '';
    expect((await fetch(`${fp.url}/ui/app.js`, { headers: { 'if-none-match': assetTag } })).status).toBe(304);
    expect((await fetch(`${fp.url}/ui/no-such.js`)).status).toBe(404);
  });
});
