// The context an incident keeps for the on-call engineer, on the real Docker engine with the
// all-in-one: the last lines a container wrote before it died (even an `--rm` container that dies
// within a second of starting, whose logs the engine deletes with it), and what changed since the
// container's last clean run; and the incident page in headless Chromium showing both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onSignedInPage } from '../support/browser.js';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, startFineprint, type RunningFineprint } from '../support/fineprint.js';
import { ALLOCATE as ALLOCATE_COMMAND } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = `fp-context-${process.pid}-`;
const MB = 1024 * 1024;
/** The shell script of ALLOCATE_COMMAND: past a 32 MiB limit at once, the shell holding the string is OOM-killed. */
const ALLOCATE = ALLOCATE_COMMAND[2] as string;
const SECRET = 'hunter2-s3cr3t-Value-9f8e7d';
let fp: RunningFineprint;
/** The incidents the first two tests filed, for the page. */
const filed: { lastWords?: string; changes?: string } = {};

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  // A start that ran 2 s is a clean run here (60 s by default).
  fp = await startFineprint({ FINEPRINT_CLEAN_RUN: '2s' });
});

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

const oomIncidentOf = (name: string) =>
  waitFor(async () => (await incidentsOf(fp.url, { container: name, kb: 'oom-kill' }))[0], 60_000, `the oom-kill incident of ${name}`, 250);

describe('incident context', () => {
  it('an --rm container OOM-killed within a second of starting has its last three lines on its incident, redacted and escaped', async () => {
    const name = `${PREFIX}rm`;
    const started = Date.now();
    const container = await runContainer(docker, {
      name,
      memory: 32 * MB,
      autoRemove: true,
      cmd: ['sh', '-c', `echo "loading cache"; echo "connecting with password=${SECRET}" >&2; printf 'raw \\001\\033 bytes\\n'; ${ALLOCATE}`],
    });
    const exit = (await container.wait()) as { StatusCode: number };
    expect(exit.StatusCode, 'OOM-killed').toBe(137);
    expect(Date.now() - started, 'died within a second or so of starting').toBeLessThan(5000);
    // The engine removed it, logs and all.
    await waitFor(async () => ((await docker.listContainers({ all: true, filters: { name: [name] } })).length === 0 ? true : undefined), 10_000, `${name} removed`);

    const incident = await oomIncidentOf(name);
    const detail = await waitFor(
      async () => {
        const d = await incidentDetail(fp.url, incident.id);
        return d.lastWords ? d : undefined;
      },
      30_000,
      `the last words on the incident of ${name}`,
      250,
    );
    // The engine reads stdout and stderr on their own pipes: their order is kept within a stream only.
    const lines = detail.lastWords?.lines ?? [];
    expect(lines).toHaveLength(3);
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['loading cache', 'raw \\x01\\x1b bytes']);
    expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['connecting with password=[REDACTED]']);
    expect(detail.lastWords?.truncated).toBe(false);
    expect(JSON.stringify(detail)).not.toContain(SECRET);
    expect(detail.evidence.some((e) => e.message.startsWith('Last words (3 lines): '))).toBe(true);
    filed.lastWords = incident.id;
  });

  it('a container recreated with a lower memory limit shows the change on its incident, env by name only', async () => {
    const name = `${PREFIX}recreated`;
    // A first run that lasts past the clean-run period, then exits cleanly.
    const first = await runContainer(docker, { name, memory: 256 * MB, env: ['CACHE_DIR=/tmp'], cmd: ['sh', '-c', 'sleep 3'] });
    expect(((await first.wait()) as { StatusCode: number }).StatusCode).toBe(0);
    await first.remove();

    const second = await runContainer(docker, {
      name,
      memory: 32 * MB,
      env: ['CACHE_DIR=/tmp', `API_TOKEN=${SECRET}`],
      cmd: ['sh', '-c', ALLOCATE],
    });
    expect(((await second.wait()) as { StatusCode: number }).StatusCode).toBe(137);

    const incident = await oomIncidentOf(name);
    const detail = await waitFor(
      async () => {
        const d = await incidentDetail(fp.url, incident.id);
        return d.changes ? d : undefined;
      },
      30_000,
      `the changes on the incident of ${name}`,
      250,
    );
    expect(detail.changes).toEqual(
      expect.arrayContaining([
        { field: 'limits.memory', before: '256 MiB', after: '32 MiB' },
        { field: 'limits.memorySwap', before: '256 MiB', after: '32 MiB' },
        { field: 'env.API_TOKEN', before: null, after: 'set' },
        { field: 'command', before: 'sh -c sleep 3', after: `sh -c ${ALLOCATE}` },
      ]),
    );
    // Same image, same restart policy, same CACHE_DIR: not listed.
    expect(detail.changes?.map((c) => c.field)).not.toEqual(expect.arrayContaining(['image']));
    expect(detail.changes?.map((c) => c.field)).not.toEqual(expect.arrayContaining(['imageId']));
    expect(detail.changes?.map((c) => c.field)).not.toEqual(expect.arrayContaining(['env.CACHE_DIR']));
    expect(JSON.stringify(detail)).not.toContain(SECRET);
    filed.changes = incident.id;
  });

  it('the incident page shows the last words and what changed', async () => {
    expect(filed.lastWords && filed.changes, 'the incidents of the tests above').toBeTruthy();
    await onSignedInPage(fp.url, `#/incidents/${filed.lastWords}`, async (page) => {
      const tail = page.locator('section.last-words pre');
      await tail.waitFor();
      expect(await page.locator('section.last-words h2').textContent()).toBe('Last words (3 lines)');
      expect(await tail.textContent()).toContain('err │ connecting with password=[REDACTED]');
      expect(await tail.textContent()).toContain('out │ raw \\x01\\x1b bytes');

      await page.goto(`${fp.url}/#/incidents/${filed.changes}`);
      const change = (field: string) => page.locator('section.changes tr').filter({ has: page.getByText(field, { exact: true }) }).locator('td');
      await change('limits.memory').first().waitFor();
      expect(await change('limits.memory').allTextContents()).toEqual(['limits.memory', '256 MiB', '32 MiB']);
      expect(await change('env.API_TOKEN').allTextContents()).toEqual(['env.API_TOKEN', '(none)', 'set']);
      expect(await page.content()).not.toContain(SECRET);
    });
  });
});
