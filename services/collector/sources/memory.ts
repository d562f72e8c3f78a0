import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { isNotFound } from '../../../shared/errors.js';
import { RECORD_VERSION, type ContainerRef, type NormalizedEvent } from '../../../shared/event.js';
import type { MemoryCurve } from '../../../shared/memory-curve.js';
import { Batcher } from '../batcher.js';
import { DOCKER_TIMEOUT_MS, inspectContainer, listContainers } from '../docker-api.js';
import type { ContainerMemory } from '../memory-users.js';
import { cgroupMemoryDir, MemoryRing, readCgroupMemory, readDockerStatsMemory, type CgroupMemoryReading } from '../memory-curve.js';
import type { Source, SourceContext } from './source.js';
import { periodic } from '../periodic.js';

const NAME = 'memory';

/**
 * While a container stays under pressure its pressure reading is sent again this often: closer than
 * the classifier's merge window (60 s), so a long stretch under pressure is one occurrence of its
 * warning, kept open for the kill to find it.
 */
const PRESSURE_REPEAT_MS = 30_000;

export interface MemorySourceOptions {
  /** Time between readings, ms. Default 5000. */
  intervalMs?: number;
  /** How far back the readings go, ms. Default 10 min. */
  windowMs?: number;
  /** Where the host's cgroup fs is mounted. Default /sys/fs/cgroup; when it is not there, the Docker stats API is read. */
  cgroupRoot?: string;
  /** Fraction of its limit above which a container's memory is under pressure. Default 0.9. */
  pressureFraction?: number;
  /** How long it must stay there before it is reported, ms. Default 60000. */
  pressureForMs?: number;
}

/** What the source remembers of a running container with a memory limit. */
interface Watched {
  container: ContainerRef;
  ring: MemoryRing;
  /** The cgroup's limit hits at the last reading (cumulative). */
  limitHits?: number;
  /** When its last pressure reading was sent; undefined once its usage went below the threshold. */
  pressureSentAt?: number;
}

/**
 * Keeps the recent memory usage of each running container that has a memory limit, read from its
 * memory cgroup (v1 or v2) every few seconds, or from the Docker stats API where the host's cgroup
 * fs is not visible. The readings stay in memory: an OOM kill asks for the curve (curveOf), and
 * only a container under pressure (above a fraction of its limit for a while, or hitting its limit
 * while above it) is sent as a reading (probe `container.memory_sustained_pct` or
 * `container.memory_limit_hits`), so the readings never flood the transport.
 */
export interface MemorySource extends Source {
  /** The container's curve up to `killTs`, if it has a limit and readings. */
  curveOf(containerId: string, killTs: number): MemoryCurve | undefined;
  /** The latest reading of each container read within the last two intervals (a global OOM names the biggest). */
  latest(): ContainerMemory[];
}

/** MiB with one decimal, for messages. */
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function createMemorySource(ctx: SourceContext, options: MemorySourceOptions = {}): MemorySource {
  const { docker, log, metrics } = ctx;
  const intervalMs = options.intervalMs ?? 5000;
  const windowMs = options.windowMs ?? 600_000;
  const cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup';
  const pressureFraction = options.pressureFraction ?? 0.9;
  const pressureForMs = options.pressureForMs ?? 60_000;
  const batcher = new Batcher({ sink: ctx.sink, log, metrics });
  /** Containers with a limit; null for a running container without one (not inspected again). */
  const watched = new Map<string, Watched | null>();
  let read: ((id: string) => Promise<CgroupMemoryReading | undefined>) | undefined;
  let failing = false;

  /** The host's cgroup files when they are visible here, else the Docker stats API. */
  async function reader(): Promise<(id: string) => Promise<CgroupMemoryReading | undefined>> {
    const info = await (docker.info as unknown as (opts: { abortSignal: AbortSignal }) => Promise<{ CgroupVersion?: string; CgroupDriver?: string }>).call(docker, {
      abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS),
    });
    const version = info.CgroupVersion === '2' ? 2 : 1;
    const driver = info.CgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs';
    const visible = await access(join(cgroupRoot, version === 2 ? 'cgroup.controllers' : 'memory')).then(
      () => true,
      () => false,
    );
    if (!visible) {
      log.info({ cgroupRoot }, "The host's cgroup fs is not visible here: container memory is read from the Docker stats API.");
      return (id) =>
        readDockerStatsMemory(docker, id).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
    }
    // A container that just stopped has no cgroup any more: it simply has no new reading.
    return (id) => readCgroupMemory(cgroupMemoryDir(cgroupRoot, version, driver, id)).catch(() => undefined);
  }

  async function watch(id: string): Promise<Watched | null> {
    const info = await inspectContainer(docker, id);
    const limit = info?.HostConfig.Memory ?? 0;
    if (!info || limit <= 0) return null;
    const container = { id, name: info.Name.replace(/^\//, ''), image: info.Config.Image };
    return { container, ring: new MemoryRing(limit, windowMs) };
  }

  /** Sends the container's pressure reading when it is under pressure and none was sent lately. */
  function pressure(entry: Watched, ts: number, limitHitsBefore: number | undefined): void {
    const { ring, container } = entry;
    const bytes = ring.last?.bytes ?? 0;
    const above = bytes >= ring.limitBytes * pressureFraction;
    const sustained = above && ring.aboveForMs(pressureFraction) >= pressureForMs;
    const hits = above && limitHitsBefore !== undefined && entry.limitHits !== undefined ? entry.limitHits - limitHitsBefore : 0;
    // One stretch above the threshold is one warning, however its limit hits come and go.
    if (!above) delete entry.pressureSentAt;
    if (!sustained && hits <= 0) return;
    if (entry.pressureSentAt !== undefined && ts - entry.pressureSentAt < PRESSURE_REPEAT_MS) return;
    entry.pressureSentAt = ts;
    const pct = Math.round((bytes / ring.limitBytes) * 1000) / 10;
    const [metric, value, message] = sustained
      ? ['container.memory_sustained_pct', pct, `Container ${container.name} has used ${pct}% of its ${mib(ring.limitBytes)} memory limit for ${Math.round(ring.aboveForMs(pressureFraction) / 1000)} s`]
      : ['container.memory_limit_hits', hits, `Container ${container.name} hit its ${mib(ring.limitBytes)} memory limit ${hits} times since the last reading, at ${pct}% of it`];
    const event: NormalizedEvent = {
      v: RECORD_VERSION,
      id: `probe:${metric}:${container.id}:${ts}`,
      host: ctx.host,
      kind: 'probe',
      source: NAME,
      ts,
      message,
      container,
      probe: { metric, value, subject: container.id },
      memoryCurve: ring.curve(ts, false),
    };
    metrics.received.inc({ source: NAME });
    batcher.push({ type: 'event', event });
  }

  async function reading(): Promise<void> {
    try {
      read ??= await reader();
      const running = await listContainers(docker);
      const ids = new Set(running.map((c) => c.Id));
      // A stopped container's ring is kept for a window: its OOM event may be handled after it stopped.
      for (const [id, entry] of watched) {
        if (ids.has(id)) continue;
        const last = entry?.ring.last;
        if (!last || Date.now() - last.t > windowMs) watched.delete(id);
      }
      for (const id of ids) if (!watched.has(id)) watched.set(id, await watch(id));
      const ts = Date.now();
      const readOne = read;
      await Promise.all(
        [...ids].map(async (id) => {
          const entry = watched.get(id);
          if (!entry) return;
          const usage = await readOne(id);
          if (!usage) return;
          if (usage.limitBytes) entry.ring.limitBytes = usage.limitBytes;
          entry.ring.push({ t: ts, bytes: usage.bytes });
          const limitHitsBefore = entry.limitHits;
          entry.limitHits = usage.limitHits;
          pressure(entry, ts, limitHitsBefore);
        }),
      );
      failing = false;
    } catch (err) {
      metrics.errors.inc({ stage: 'receiving', error_type: 'memory_reading_failed' });
      if (!failing) log.warn({ err }, 'Reading container memory failed; it is retried at the next reading.');
      failing = true;
    }
  }

  const readings = periodic(reading, intervalMs);

  return {
    name: NAME,
    curveOf(containerId, killTs) {
      const entry = watched.get(containerId);
      return entry?.ring.last ? entry.ring.curve(killTs, true) : undefined;
    },
    latest() {
      const since = Date.now() - 2 * intervalMs;
      return [...watched.values()].flatMap((entry) => {
        const last = entry?.ring.last;
        return entry && last && last.t >= since ? [{ container: entry.container, bytes: last.bytes }] : [];
      });
    },
    start: () => readings.start(),
    async stop() {
      await readings.stop();
      await batcher.close();
    },
  };
}
