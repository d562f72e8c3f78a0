// Every secret shape of test/support/secret-shapes.ts through the real collector path, on the
// private dockerd and the real all-in-one: a container carries each secret in a label, in a
// command-line argument and in a log line a KB detector files (disk-full), then is OOM-killed. No
// secret value may show in the incidents (GET /api/v1/incidents/:id), in search, in the database
// files, in fineprint's own log, or in a webhook notification; the places that held them are there,
// redacted, so the test cannot pass by losing them.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../shared/incident.js';
import { REDACTED } from '../../shared/redact.js';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { api, incidentDetail, incidentsOf, startFineprint, tempDataDir, type RunningFineprint } from '../support/fineprint.js';
import { expectNoSecret, filesUnder } from '../support/leaks.js';
import { startReceiver, type TestReceiver } from '../support/receivers.js';
import { ALLOCATE } from '../support/scenarios.js';
import { SECRET_CASES } from '../support/secret-shapes.js';

const docker = testDocker();
const PREFIX = `fp-redaction-${process.pid}-`;
const container = `${PREFIX}leaky`;
const MB = 1024 * 1024;
const WEBHOOK_SECRET = 'redaction-webhook-signing-0123456789';
/** Case number -> secret value, as expectNoSecret names them. */
const SECRETS = Object.fromEntries(SECRET_CASES.map((c, i) => [`case ${i + 1} (${c.text.slice(0, 40)})`, c.secret]));
/** A line disk-full files; the case text follows it, so each line is evidence of the incident. */
const FILED = 'write /data/out: No space left on device';
/** Cases behind FILED on a line (not at its start), as evidence. */
const NUMBERED = SECRET_CASES.map((c, i) => ({ ...c, n: i + 1 }));
const EVIDENCE_CASES = NUMBERED.filter((c) => !c.ownLine);
const OWN_LINES = NUMBERED.filter((c) => c.ownLine);

let fp: RunningFineprint;
let hook: TestReceiver;
let incidents: Incident[] = [];

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  hook = await startReceiver('webhook', { secret: WEBHOOK_SECRET });
  const dir = tempDataDir('fp-redaction-');
  const notifyConfig = path.join(dir, 'notify.json');
  writeFileSync(
    notifyConfig,
    JSON.stringify({
      receivers: [{ type: 'webhook', name: 'hook', url: hook.url, secret: WEBHOOK_SECRET, timeout: '5s', retry: { initial: '200ms', max: '1s' } }],
      routes: [{ receivers: ['hook'], group_by: ['kb', 'container'], group_interval: '1s' }],
    }),
  );
  // The most talkative level: a secret in any log line must show there. Every case line kept as
  // evidence (50 at each end of the incident), so that each is looked at.
  fp = await startFineprint({ FINEPRINT_NOTIFY_CONFIG: notifyConfig, FINEPRINT_LOG_LEVEL: 'debug', FINEPRINT_EVIDENCE_KEPT: '50' }, dir);

  // Each case: a label, an argument (after the script: "$@"), and a log line with its newlines made
  // spaces (a log line is one line); then the container runs out of memory. A case found only as a
  // line of its own is printed so too, though no detector files it: it may not leak in a log either.
  const script = [
    'i=0',
    `for a in "$@"; do i=$((i+1)); case ' ${OWN_LINES.map((c) => c.n).join(' ')} ' in *" $i "*) continue;; esac; printf '%s' "case $i: ${FILED}; $a" | tr '\\n' ' '; echo; done`,
    ...OWN_LINES.map((c) => `echo '${c.text}'`),
    'sleep 2',
    ALLOCATE[2],
  ].join('; ');
  await runContainer(docker, {
    name: container,
    memory: 32 * MB,
    labels: Object.fromEntries(SECRET_CASES.map((c, i) => [`case.${i + 1}`, c.text])),
    cmd: ['sh', '-c', script, 'sh', ...SECRET_CASES.map((c) => c.text)],
  });
  for (const kb of ['oom-kill', 'disk-full']) {
    await waitFor(async () => (await incidentsOf(fp.url, { container, kb }))[0], 90_000, `the ${kb} incident of ${container}`, 250);
  }
  // Every case line is evidence before anything is looked at.
  await waitFor(
    async () => {
      const [diskFull] = await incidentsOf(fp.url, { container, kb: 'disk-full' });
      const detail = diskFull && (await incidentDetail(fp.url, diskFull.id));
      return detail && detail.evidence.filter((e) => e.message.includes(FILED)).length >= EVIDENCE_CASES.length ? detail : undefined;
    },
    60_000,
    `${EVIDENCE_CASES.length} log lines as evidence of the disk-full incident`,
    250,
  );
  incidents = await incidentsOf(fp.url, { container });
  await waitFor(async () => (incidents.every((i) => hook.accepted().some((a) => a.body.includes(i.id))) ? true : undefined), 60_000, 'a notification of each incident');
}, 300_000);

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
  await hook?.close();
}, 120_000);

describe('no secret shape leaves the host through the collector', () => {
  it('the incidents carry the labels, command and log lines, redacted', async () => {
    expect(incidents.map((i) => i.kbId).sort()).toEqual(['disk-full', 'oom-kill']);
    for (const incident of incidents) {
      const detail = await incidentDetail(fp.url, incident.id);
      // Not vacuous: every case is there, with its secret replaced.
      expect(Object.keys(detail.facts?.labels ?? {}).filter((k) => k.startsWith('case.'))).toHaveLength(SECRET_CASES.length);
      expect(detail.facts?.command.join(' ')).toContain(REDACTED);
      expectNoSecret([{ what: `GET /api/v1/incidents/${incident.id} (${incident.kbId})`, text: JSON.stringify(detail) }], SECRETS);
    }
    const [diskFull] = incidents.filter((i) => i.kbId === 'disk-full');
    const evidence = (await incidentDetail(fp.url, diskFull?.id ?? '')).evidence.map((e) => e.message);
    for (const { n } of EVIDENCE_CASES) {
      expect(evidence.some((m) => m.startsWith(`case ${n}: ${FILED}`) && m.includes(REDACTED)), `the log line of case ${n}, redacted`).toBe(true);
    }
  });

  it('search finds nothing by any secret, and finds the incidents by their container', async () => {
    const search = async (q: string) => (await api<{ incidents: Incident[] }>(fp.url, `/api/v1/incidents?${new URLSearchParams({ q, limit: '500' })}`)).incidents;
    expect((await search(container)).length).toBeGreaterThan(0);
    for (const [kind, secret] of Object.entries(SECRETS)) {
      // A word of the secret as a search engine indexes it: the longest one, one with a digit if
      // any (`Pw38` of `Mysql Pw38`, not `Mysql`, which `mysqldump` in the evidence starts with).
      const words = secret.split(/[^A-Za-z0-9]+/);
      const longest = (list: string[]) => list.reduce((a, b) => (b.length > a.length ? b : a), '');
      const word = longest(words.filter((w) => /\d/.test(w))) || longest(words);
      expect(await search(word), `search for ${kind}: ${word}`).toEqual([]);
    }
  });

  it('in no database file, no log output of fineprint, no webhook notification', () => {
    const files = filesUnder(fp.dataDir);
    expect(files.some((f) => f.text.includes('case.1')), 'the container facts in the database files').toBe(true);
    expectNoSecret(files, SECRETS);
    expectNoSecret([{ what: 'the log of fineprint', text: fp.output() }], SECRETS);
    const deliveries = hook.accepted();
    expect(deliveries.length).toBeGreaterThan(0);
    expectNoSecret(
      deliveries.map((a, i) => ({ what: `webhook delivery ${i}`, text: a.body })),
      SECRETS,
    );
  });
});
