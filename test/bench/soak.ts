// Soak (`npm run bench -- --soak MINUTES`): the distributed pipeline (real collector, classifier and
// API processes on the real Kafka and Elasticsearch) under a 1,000 lines/s log storm for MINUTES,
// its containers replaced one a minute so that per-container state comes and goes. Reported: the
// resident memory slope of each process (MiB/hour, least squares over the samples after the first
// fifth of the run, which is warm-up), beside a bare Node.js + dockerode process sampled over the
// same time (the noise floor), and what the collector's store keeps afterwards against what exists.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../shared/sqlite.js';
import { removeContainers, testDocker } from '../support/docker.js';
import { startRole, type RunningFineprint } from '../support/fineprint.js';
import { distributedEnv } from '../support/services.js';
import { deleteRunState } from './distributed.js';
import { composeNodeOptions, rssMiB, spawnBareDockerode, startStormContainer, STORM_CONTAINERS, STORM_LINES_PER_CONTAINER } from './footprint.js';

const SAMPLE_MS = 10_000;
const REPLACE_EVERY_MS = 60_000;

type Process = 'collector' | 'classifier' | 'api' | 'bare';

export interface SoakResult {
  minutes: number;
  /** Container log lines the collector received per second over the run. */
  eventsPerSecond: number;
  /** RSS slope after warm-up, MiB/hour, and the RSS at the first and last sample (MiB). */
  memory: Record<Process, { slopeMiBPerHour: number; firstMiB: number; lastMiB: number }>;
  /** Storm containers started over the run (each removed a few minutes later). */
  containersStarted: number;
  /** Containers on the engine at the end (running or not): the bound of per-container keys. */
  containersAtEnd: number;
  /** The collector's per-container log cursors (`logs:<id>`) and all its cursors, at the end. */
  logCursors: number;
  cursors: number;
  /** Rows in the collector's on-disk buffer at the end (forwarded ones are pruned a second after the next batch). */
  bufferRows: number;
}

/** Least-squares slope of (ms, MiB) samples, in MiB per hour. */
export function slopePerHour(samples: readonly { ms: number; mib: number }[]): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const meanT = samples.reduce((s, p) => s + p.ms, 0) / n;
  const meanM = samples.reduce((s, p) => s + p.mib, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.ms - meanT) * (p.mib - meanM);
    den += (p.ms - meanT) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 3_600_000;
}

async function receivedLogLines(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('fineprint_events_received_total{source="container-logs"}'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

export async function soak(minutes: number, progress: (line: string) => void): Promise<SoakResult> {
  const docker = testDocker();
  const prefix = `fp-bench-soak-${process.pid}-`;
  await removeContainers(docker, prefix);
  const env: Record<string, string> = {
    ...distributedEnv(`bench-soak-${process.pid}`),
    // Every storm line is forwarded, none discarded by the per-container limit.
    FINEPRINT_LOG_LINES_PER_SECOND: String(STORM_LINES_PER_CONTAINER * 2),
    FINEPRINT_PROBE_INTERVAL: '30',
  };
  const roles: Partial<Record<Exclude<Process, 'bare'>, RunningFineprint>> = {};
  const bare = spawnBareDockerode();
  try {
    // Each role with the V8 flags docker-compose.yml gives it.
    roles.api = await startRole('api', { ...env, ...composeNodeOptions('api') });
    roles.classifier = await startRole('classifier', { ...env, ...composeNodeOptions('classifier') });
    roles.collector = await startRole('collector', { ...env, ...composeNodeOptions('collector') });
    const pids: Record<Process, number> = {
      collector: roles.collector.child.pid as number,
      classifier: roles.classifier.child.pid as number,
      api: roles.api.child.pid as number,
      bare: bare.pid as number,
    };
    let started = 0;
    const live: string[] = [];
    const startOne = async () => {
      const name = `${prefix}${started++}`;
      await startStormContainer(docker, name);
      live.push(name);
    };
    for (let c = 0; c < STORM_CONTAINERS; c += 1) await startOne();

    const samples: Record<Process, { ms: number; mib: number }[]> = { collector: [], classifier: [], api: [], bare: [] };
    const begin = Date.now();
    const end = begin + minutes * 60_000;
    const receivedBefore = await receivedLogLines(roles.collector.url);
    let nextReplace = begin + REPLACE_EVERY_MS;
    let nextReport = begin + 60_000;
    while (Date.now() < end) {
      for (const [name, pid] of Object.entries(pids) as [Process, number][]) samples[name].push({ ms: Date.now() - begin, mib: rssMiB(pid) });
      if (Date.now() >= nextReplace) {
        nextReplace += REPLACE_EVERY_MS;
        await docker.getContainer(live.shift() as string).remove({ force: true });
        await startOne();
      }
      if (Date.now() >= nextReport) {
        nextReport += 60_000;
        const rss = (Object.keys(pids) as Process[]).map((name) => `${name} ${samples[name].at(-1)?.mib.toFixed(1)}`).join(', ');
        progress(`soak: ${Math.round((Date.now() - begin) / 60_000)}/${minutes} min, RSS MiB: ${rss}`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(SAMPLE_MS, Math.max(0, end - Date.now()))));
    }
    const eventsPerSecond = ((await receivedLogLines(roles.collector.url)) - receivedBefore) / ((Date.now() - begin) / 1000);
    const warm = minutes * 60_000 * 0.2;
    const memory = Object.fromEntries(
      (Object.keys(samples) as Process[]).map((name) => {
        const all = samples[name];
        return [name, { slopeMiBPerHour: slopePerHour(all.filter((s) => s.ms >= warm)), firstMiB: all[0]?.mib ?? NaN, lastMiB: all.at(-1)?.mib ?? NaN }];
      }),
    ) as SoakResult['memory'];

    // The storm stops; the collector forgets the removed containers and drains its buffer.
    await removeContainers(docker, prefix);
    const containersAtEnd = (await docker.listContainers({ all: true })).length;
    const db = openDatabase(join(roles.collector.dataDir, 'collector.db'));
    try {
      const count = (sql: string) => db.prepare<[], { n: number }>(sql).get()?.n ?? 0;
      const logCursors = () => count(`SELECT COUNT(*) AS n FROM cursors WHERE substr(name, 1, 5) = 'logs:'`);
      const bufferRows = () => count('SELECT COUNT(*) AS n FROM queue');
      // Bounded wait: what is still there after it is what the figure reports.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && logCursors() > containersAtEnd) await new Promise((resolve) => setTimeout(resolve, 500));
      return {
        minutes,
        eventsPerSecond,
        memory,
        containersStarted: started,
        containersAtEnd,
        logCursors: logCursors(),
        cursors: count('SELECT COUNT(*) AS n FROM cursors'),
        bufferRows: bufferRows(),
      };
    } finally {
      db.close();
    }
  } finally {
    bare.kill();
    await removeContainers(docker, prefix);
    for (const role of [roles.collector, roles.classifier, roles.api]) {
      if (!role) continue;
      await role.stop();
      rmSync(role.dataDir, { recursive: true, force: true });
    }
    await deleteRunState(env);
  }
}
