// The incident history page in a real headless Chromium (Debian's, scripts/services/chromium.sh)
// against the real all-in-one on the test dockerd: search, filters and facets, an incident filed by
// a real OOM kill, acknowledging and silencing it, the KB browser, and attacker-controlled text
// (a container's log line and labels holding <script> and <img onerror>) rendered as text only.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../shared/incident.js';
import type { Silence } from '../../shared/silence.js';
import { removeContainers, runContainer, testDocker } from '../support/docker.js';
import { api, incidentDetail, REPO_ROOT, startFineprint, TEST_TOKEN, type RunningFineprint } from '../support/fineprint.js';
import { ALLOCATE, onlyIncident } from '../support/scenarios.js';

const executablePath = process.env.FINEPRINT_TEST_CHROMIUM;
if (!executablePath) {
  throw new Error('FINEPRINT_TEST_CHROMIUM is not set: run `bash scripts/services/chromium.sh start` and eval its `env`');
}

const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'screenshots');
const docker = testDocker();
const PREFIX = `fp-page-${process.pid}-`;
const OOM = `${PREFIX}oom`;
const EVIL = `${PREFIX}evil`;
const MB = 1024 * 1024;
/** Markup in a log line and a label: must show as these characters, never as elements or script. */
const EVIL_LINE = `<script>window.__fpXss = 1; alert('script')</script><img src=x onerror="window.__fpXss = 2; alert('img')"> write /data/x: No space left on device`;
const EVIL_LABEL = `<img src=x onerror="window.__fpXss = 3"><b>bold</b>`;

let fp: RunningFineprint;
let browser: Browser;
let page: Page;
let oom: Incident;
let evil: Incident;
const dialogs: string[] = [];

async function screenshot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
}

/** KB prose as the page shows it: `code` spans become <code> elements, without the backticks. */
const shown = (text: string | undefined) => text?.replaceAll('`', '');

/** Container names in the rows of the incident list, once it has loaded. */
async function listedContainers(): Promise<string[]> {
  await page.locator('table.incidents, p.empty').first().waitFor();
  return page.locator('table.incidents tbody tr td .container').allTextContents();
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await removeContainers(docker, PREFIX);
  fp = await startFineprint();
  // A real OOM kill, and a container whose log line and labels carry markup (its line is disk-full evidence).
  await runContainer(docker, { name: OOM, cmd: ALLOCATE, memory: 32 * MB });
  await runContainer(docker, { name: EVIL, labels: { 'com.example.note': EVIL_LABEL }, cmd: ['sh', '-c', `echo '${EVIL_LINE.replace(/'/g, `'"'"'`)}'; sleep 300`] });
  [oom, evil] = await Promise.all([onlyIncident(fp.url, OOM, 'oom-kill'), onlyIncident(fp.url, EVIL, 'disk-full')]);

  browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('the incident history page in headless Chromium', () => {
  it('serves the page with a strict Content-Security-Policy and asks for the token once', async () => {
    const response = await page.goto(fp.url);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    await page.getByLabel('API token').fill(TEST_TOKEN);
    await page.getByRole('button', { name: 'Open' }).click();
    expect(await listedContainers()).toEqual(expect.arrayContaining([OOM, EVIL]));
    // A reload keeps the token (sessionStorage): no second prompt.
    await page.reload();
    expect(await listedContainers()).toEqual(expect.arrayContaining([OOM, EVIL]));
    await expect.poll(() => page.getByLabel('API token').count()).toBe(0);
  });

  it('searches full text, filters by facet and shows the counts and the histogram', async () => {
    await page.getByLabel('Search').fill('no space left');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('q=no+space+left');
    await expect.poll(listedContainers).toContain(EVIL);
    expect(await listedContainers()).not.toContain(OOM);
    // Other tests' containers on the shared test dockerd file incidents too: the page agrees with itself.
    const rows = await page.locator('table.incidents tbody tr').count();
    expect(await page.locator('.facets .total').textContent()).toBe(`${rows} incident${rows === 1 ? '' : 's'}`);

    await page.goto(`${fp.url}/#/incidents`);
    await expect.poll(listedContainers).toEqual(expect.arrayContaining([OOM, EVIL]));
    // The histogram has a bar per bucket, and the bars hold every incident listed.
    expect(await page.locator('.histogram .bar').count()).toBe(24);
    const kbFacet = page.locator('.facet', { has: page.getByRole('heading', { name: 'KB entry' }) });
    const oomFacet = kbFacet.getByRole('button', { name: /Container killed by the kernel OOM killer/ });
    const facets = await api<{ kb: { value: string; count: number }[] }>(fp.url, '/api/v1/incidents/facets');
    const oomCount = facets.kb.find((f) => f.value === 'oom-kill')?.count;
    expect(await oomFacet.locator('.count').textContent()).toBe(String(oomCount));
    await screenshot('list', false);

    await oomFacet.click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('kb=oom-kill');
    await expect.poll(async () => (await page.locator('table.incidents tbody .kb').allTextContents()).every((k) => k === 'oom-kill')).toBe(true);
    expect(await listedContainers()).toContain(OOM);
    // The severity filter narrows it further: the real OOM kill is critical.
    await page.locator('select[name="severity"]').selectOption('critical');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('severity=critical');
    await expect.poll(async () => new Set(await page.locator('table.incidents tbody .badge').allTextContents())).toEqual(new Set(['critical']));
    expect(await listedContainers()).toContain(OOM);
    const severityFacet = page.locator('.facet', { has: page.getByRole('heading', { name: 'Severity' }) });
    expect(await severityFacet.locator('.value').allTextContents()).toEqual(['critical']);
  });

  it('opens the OOM kill: why and fix, evidence on a timeline, container facts', async () => {
    await page.locator(`a[href="#/incidents/${oom.id}"]`).click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/incidents/${oom.id}`);
    const detail = await incidentDetail(fp.url, oom.id);
    await page.getByRole('heading', { name: 'Why it happened' }).waitFor();
    expect(await page.locator('.kb .why').textContent()).toBe(shown(detail.kb?.why));
    expect(await page.locator('.kb .fix li').allTextContents()).toEqual(detail.kb?.fix.map(shown));
    expect(await page.locator('.kb .why code').count()).toBeGreaterThan(0);
    const timeline = page.locator('.timeline li');
    expect(await timeline.count()).toBe(detail.evidence.length);
    expect(await page.locator('.timeline code').allTextContents()).toEqual(expect.arrayContaining(['oom', 'die']));
    // Kernel lines are shown as such (whether they attach is the all-in-one scenario's to prove).
    expect(await page.locator('.timeline li.kind-kernel').count()).toBe(detail.evidence.filter((e) => e.kind === 'kernel').length);
    const facts = page.locator('.container-facts');
    await expect.poll(() => facts.locator('dt:has-text("Memory limit") + dd').textContent()).toBe('32 MiB');
    expect(await facts.locator('dt:has-text("Restart policy") + dd').textContent()).toBe('no');
    expect(await facts.locator('dt:has-text("Image") + dd').textContent()).toBe(detail.facts?.image);
    await screenshot('detail');
  });

  it('acknowledges the incident and silences its container with an admin token', async () => {
    await page.getByLabel('Comment', { exact: true }).fill('looking into the heap');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.locator('header.incident .status').textContent()).toBe('acknowledged');
    const acked = await incidentDetail(fp.url, oom.id);
    expect(acked.status).toBe('acknowledged');
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

  it('renders <script> and <img onerror> from a log line and a label as text and runs none of it', async () => {
    await page.goto(`${fp.url}/#/incidents?q=${encodeURIComponent('space')}`);
    await expect.poll(listedContainers).toContain(EVIL);
    await page.locator(`a[href="#/incidents/${evil.id}"]`).click();
    await page.getByRole('heading', { name: /^Evidence/ }).waitFor();
    const served = (await incidentDetail(fp.url, evil.id)).evidence.map((e) => e.message);
    const line = served.find((m) => m.includes('<script>'));
    expect(line, `evidence as served: ${JSON.stringify(served)}`).toContain(`<img src=x onerror=`);
    // The exact characters, visible on the page.
    await page.locator('.timeline pre.line', { hasText: '<script>window.__fpXss = 1;' }).waitFor();
    expect(await page.locator('.timeline pre.line').allTextContents()).toContain(line);
    expect(await page.locator('header.incident .message').textContent()).toBe((await incidentDetail(fp.url, evil.id)).message);
    await expect.poll(() => page.locator('.container-facts .labels').textContent()).toContain(`com.example.note=${EVIL_LABEL}`);
    // Nothing became an element, nothing ran.
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __fpXss?: number }).__fpXss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await screenshot('detail-untrusted-text');
    // The list shows the same message as text too.
    await page.goto(`${fp.url}/#/incidents?container=${EVIL}`);
    await page.locator('table.incidents .message', { hasText: '<img src=x' }).waitFor();
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('browses the knowledge base and links an entry to its incidents', async () => {
    await page.getByRole('link', { name: 'Knowledge base' }).click();
    const { entries } = await api<{ entries: { id: string; title: string }[] }>(fp.url, '/api/v1/kb');
    await expect.poll(() => page.locator('.kb-list li').count()).toBe(entries.length);
    await screenshot('kb');
    await page.getByLabel('Filter entries').fill('oom');
    await expect.poll(() => page.locator('.kb-list li').count()).toBeLessThan(entries.length);
    await page.locator('.kb-list a[href="#/kb/oom-kill"]').click();
    await page.getByRole('heading', { name: 'Why' }).waitFor();
    const entry = await api<{ why: string; title: string }>(fp.url, '/api/v1/kb/oom-kill');
    expect(await page.locator('.kb .why').textContent()).toBe(shown(entry.why));
    await screenshot('kb-entry');
    await page.getByRole('link', { name: 'incidents of this entry' }).click();
    await expect.poll(listedContainers).toContain(OOM);
    expect(await page.locator('select[name="kb"]').inputValue()).toBe('oom-kill');
  });

  it('serves the files compressed, with validators for cheap revalidation', async () => {
    const first = await fetch(`${fp.url}/ui/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-encoding')).toBe('gzip');
    expect(first.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    const again = await fetch(`${fp.url}/ui/app.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${fp.url}/ui/no-such.js`)).status).toBe(404);
  });
});
