import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { RECORD_VERSION, type ContainerRef, type NormalizedEvent } from '../../../shared/event.js';
import { Batcher } from '../batcher.js';
import { DOCKER_TIMEOUT_MS, inspectContainer, listContainers } from '../docker-api.js';
import { containerIdsInCgroupPaths } from '../../../shared/kmsg/record.js';
import type { Source, SourceContext } from './source.js';
import { periodic } from '../periodic.js';

const NAME = 'host-probe';

export interface HostProbeOptions {
  /** Time between readings, ms (one reading is taken at start). Default 30000. */
  intervalMs?: number;
  /** Docker data root to measure. Default: DockerRootDir from `docker info`. */
  dataRoot?: string;
  /** Where the host's /proc is mounted. Default /proc. */
  procPath?: string;
}

const pct = (used: number, total: number) => Math.round((used / total) * 1000) / 10;

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/**
 * Periodic host readings the Docker events never show: how full the data root is (blocks and
 * inodes), how big each json-file log has grown, and zombie processes per container (a PID 1 that
 * does not reap). Readings are events of kind "probe"; no cursor: a missed reading is just missed.
 */
export function createHostProbeSource(ctx: SourceContext, options: HostProbeOptions = {}): Source {
  const { docker, log, metrics } = ctx;
  const intervalMs = options.intervalMs ?? 30_000;
  const procPath = options.procPath ?? '/proc';
  const batcher = new Batcher({ sink: ctx.sink, log, metrics });
  let dataRoot = options.dataRoot;
  /** Each failing stage is logged once until it works again, not at every interval. */
  const failing = new Set<string>();

  function probe(ts: number, metric: string, subject: string, value: number, message: string, container?: ContainerRef): void {
    const event: NormalizedEvent = {
      v: RECORD_VERSION,
      id: `probe:${metric}:${subject}:${ts}`,
      host: ctx.host,
      kind: 'probe',
      source: NAME,
      ts,
      message,
      ...(container ? { container } : {}),
      probe: { metric, value, subject },
    };
    metrics.received.inc({ source: NAME });
    batcher.push({ type: 'event', event });
  }

  async function step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      failing.delete(name);
    } catch (err) {
      metrics.errors.inc({ stage: 'receiving', error_type: `probe_${name}_failed` });
      if (!failing.has(name)) log.warn({ err, probe: name }, 'A host probe failed; it is retried at the next reading.');
      failing.add(name);
    }
  }

  async function disk(ts: number): Promise<void> {
    // The typings omit info's options; dockerode passes abortSignal through as for every call.
    const info = docker.info as unknown as (opts: { abortSignal: AbortSignal }) => Promise<{ DockerRootDir: string }>;
    dataRoot ??= (await info.call(docker, { abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS) })).DockerRootDir;
    const root = dataRoot;
    const fs = await statfs(root);
    // As df computes it: space reserved for root counts as neither used nor available.
    const used = fs.blocks - fs.bfree;
    probe(ts, 'disk.used_pct', root, pct(used, used + fs.bavail), `Docker data root ${root} is ${pct(used, used + fs.bavail)}% full`);
    // Some filesystems (btrfs) report no inode count.
    if (fs.files > 0) {
      const inodes = pct(fs.files - fs.ffree, fs.files);
      probe(ts, 'inodes.used_pct', root, inodes, `Docker data root ${root} has used ${inodes}% of its inodes`);
    }
  }

  async function logSizes(ts: number, containers: Docker.ContainerInfo[]): Promise<void> {
    for (const summary of containers) {
      const info = await inspectContainer(docker, summary.Id);
      if (!info || info.HostConfig.LogConfig?.Type !== 'json-file' || !info.LogPath) continue;
      const size = await stat(info.LogPath).then(
        (s) => s.size,
        () => undefined, // not written yet, or removed meanwhile
      );
      if (size === undefined) continue;
      const name = info.Name.replace(/^\//, '');
      probe(ts, 'container.log_bytes', info.Id, size, `Container ${name} has ${bytes(size)} of json-file logs`, {
        id: info.Id,
        name,
        image: info.Config.Image,
      });
    }
  }

  async function zombies(ts: number, containers: Docker.ContainerInfo[]): Promise<void> {
    const known = new Map(containers.map((c) => [c.Id, c]));
    const counts = new Map<string, number>();
    const pids = (await readdir(procPath)).filter((name) => /^\d+$/.test(name));
    await Promise.all(
      pids.map(async (pid) => {
        // Processes come and go while we scan: a vanished one is simply not counted.
        const stat = await readFile(join(procPath, pid, 'stat'), 'utf8').catch(() => '');
        // The command name may contain spaces and parentheses: the state follows the last ')'.
        if (stat[stat.lastIndexOf(')') + 2] !== 'Z') return;
        const cgroup = await readFile(join(procPath, pid, 'cgroup'), 'utf8').catch(() => '');
        const id = containerIdsInCgroupPaths(cgroup).find((candidate) => known.has(candidate));
        if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
      }),
    );
    for (const [id, count] of counts) {
      const summary = known.get(id) as Docker.ContainerInfo;
      const name = summary.Names[0]?.replace(/^\//, '') ?? id.slice(0, 12);
      const what = count === 1 ? '1 zombie process' : `${count} zombie processes`;
      probe(ts, 'container.zombies', id, count, `${what} in container ${name}`, { id, name, image: summary.Image });
    }
  }

  async function reading(): Promise<void> {
    const ts = Date.now();
    await step('disk', () => disk(ts));
    let containers: Docker.ContainerInfo[] = [];
    await step('containers', async () => {
      containers = await listContainers(docker, { all: true });
    });
    await step('log_bytes', () => logSizes(ts, containers));
    await step(
      'zombies',
      () => zombies(ts, containers.filter((c) => c.State === 'running')),
    );
  }

  const readings = periodic(reading, intervalMs);

  return {
    name: NAME,
    start: () => readings.start(),
    async stop() {
      await readings.stop();
      await batcher.close();
    },
  };
}
