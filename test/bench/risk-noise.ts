// Incident noise: how many incidents ordinary container churn files, and how many one real fault
// files. A host of ordinary containers (the defaults: no limits, no log rotation, no restart policy,
// an init so `docker stop` is quick) is started, restarted and stopped: the audit keeps their fine
// print as risks, and no incident may be filed (target 0 per start). Then each real-Docker scenario
// of test/support/scenarios.ts runs once: each must file exactly one incident. Baseline: the risks
// the audit kept for the same containers (what filed a "Risk:" incident each before).
import type Docker from 'dockerode';
import { removeContainers, TEST_IMAGE, testDocker, waitFor } from '../support/docker.js';
import { api, incidentsOf, startFineprint } from '../support/fineprint.js';
import type { Risk } from '../../shared/risk.js';
import { CONTAINER_SCENARIOS } from '../support/scenarios.js';

export interface RiskNoiseResult {
  /** Container starts (first starts and restarts). */
  starts: number;
  /** Incidents of the ordinary containers. */
  churnIncidents: number;
  /** Risks the audit kept for them. */
  risks: number;
  /** Incidents each real fault filed, by scenario KB entry. */
  perFault: { kbId: string; incidents: number }[];
}

/** Waits until `count()` stays the same over `quietMs` (polled), for late signals to land: the value then. */
async function settled(count: () => Promise<number>, quietMs: number, timeoutMs: number): Promise<number> {
  let last = await count();
  let since = Date.now();
  return waitFor(
    async () => {
      const now = await count();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs ? now : undefined;
    },
    timeoutMs,
    'the incident count to settle',
    250,
  );
}

export async function riskNoise(containers: number): Promise<RiskNoiseResult> {
  const docker = testDocker();
  const prefix = `fp-bench-noise-${process.pid}-`;
  await removeContainers(docker, prefix);
  // Kernel records on: the pids scenario's incident comes from the kernel's line.
  const fineprint = await startFineprint();
  try {
    const started: Docker.Container[] = [];
    for (let i = 0; i < containers; i += 1) {
      const container = await docker.createContainer({
        name: `${prefix}app-${i}`,
        Image: TEST_IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: { 'fineprint.test': '1' },
        HostConfig: { NetworkMode: 'none', Init: true },
      });
      await container.start();
      started.push(container);
    }
    for (const container of started) await container.restart({ t: 5 });
    for (const container of started) await container.stop({ t: 5 });
    const ordinaryRisks = async () => (await allRisks(fineprint.url)).filter((r) => r.container?.name.startsWith(prefix));
    // Every container was audited (its risks are kept) before the incidents are counted.
    const risks = await waitFor(
      async () => {
        const found = await ordinaryRisks();
        return new Set(found.map((r) => r.container?.id)).size === containers ? found.length : undefined;
      },
      120_000,
      'every ordinary container to be audited',
      250,
    );
    const churnIncidents = await settled(async () => (await incidentsOf(fineprint.url, {})).filter((i) => i.container?.name.startsWith(prefix)).length, 5000, 120_000);

    const perFault: RiskNoiseResult['perFault'] = [];
    for (const scenario of CONTAINER_SCENARIOS) {
      const name = `${prefix}fault-${scenario.kbId}`;
      await scenario.run(docker, name);
      await waitFor(async () => ((await incidentsOf(fineprint.url, { container: name })).length > 0 ? true : undefined), scenario.timeoutMs ?? 60_000, `the incident of ${name}`, 250);
      perFault.push({ kbId: scenario.kbId, incidents: await settled(async () => (await incidentsOf(fineprint.url, { container: name })).length, 3000, 60_000) });
    }
    return { starts: containers * 2, churnIncidents, risks, perFault };
  } finally {
    await removeContainers(docker, prefix);
    await fineprint.stop();
  }
}

/** Every current risk, page after page. */
async function allRisks(url: string): Promise<Risk[]> {
  const all: Risk[] = [];
  let cursor: string | null = null;
  do {
    const page: { risks: Risk[]; nextCursor: string | null } = await api(url, `/api/v1/risks?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    all.push(...page.risks);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}
