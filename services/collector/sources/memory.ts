import type { MemoryCurve } from '../../../shared/memory-curve.js';
import { DOCKER_TIMEOUT_MS, inspectContainer } from '../docker-api.js';
import { cgroupMemoryDir, MemoryRing, readCgroupMemory } from '../memory-curve.js';
import type { Source, SourceContext } from './source.js';
import { periodic } from '../periodic.js';

const NAME = 'memory';

export interface MemorySourceOptions {
  /** Time between readings, ms. Default 5000. */
  intervalMs?: number;
  /** How far back the readings go, ms. Default 10 min. */
  windowMs?: number;
  /** Where the host's cgroup fs is mounted. Default /sys/fs/cgroup. */
  cgroupRoot?: string;
}

/** What the source remembers of a running container with a memory limit. */
interface Watched {
  dir: string;
  ring: MemoryRing;
}

/**
 * Keeps the recent memory usage of each running container that has a memory limit, read from its
 * memory cgroup (v1 or v2) every few seconds, in memory only: nothing is sent until an OOM kill
 * asks for the curve (curveOf), so the readings never flood the transport.
 */
export interface MemorySource extends Source {
  /** The container's curve up to `killTs`, if it has a limit and readings. */
  curveOf(containerId: string, killTs: number): MemoryCurve | undefined;
}

export function createMemorySource(ctx: SourceContext, options: MemorySourceOptions = {}): MemorySource {
  const { docker, log, metrics } = ctx;
  const intervalMs = options.intervalMs ?? 5000;
  const windowMs = options.windowMs ?? 600_000;
  const cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup';
  /** Containers with a limit; null for a running container without one (not inspected again). */
  const watched = new Map<string, Watched | null>();
  let layout: { version: 1 | 2; driver: 'cgroupfs' | 'systemd' } | undefined;
  let failing = false;

  async function watch(id: string): Promise<Watched | null> {
    const info = await inspectContainer(docker, id);
    const limit = info?.HostConfig.Memory ?? 0;
    if (!info || !layout || limit <= 0) return null;
    return { dir: cgroupMemoryDir(cgroupRoot, layout.version, layout.driver, id), ring: new MemoryRing(limit, windowMs) };
  }

  async function reading(): Promise<void> {
    try {
      if (!layout) {
        const info = (await (docker.info as unknown as (opts: { abortSignal: AbortSignal }) => Promise<{ CgroupVersion?: string; CgroupDriver?: string }>).call(docker, {
          abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS),
        }));
        layout = { version: info.CgroupVersion === '2' ? 2 : 1, driver: info.CgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs' };
      }
      const running = await docker.listContainers({ abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS) });
      const ids = new Set(running.map((c) => c.Id));
      // A stopped container's ring is kept for a window: its OOM event may be handled after it stopped.
      for (const [id, entry] of watched) {
        if (ids.has(id)) continue;
        const last = entry?.ring.last;
        if (!last || Date.now() - last.t > windowMs) watched.delete(id);
      }
      for (const id of ids) if (!watched.has(id)) watched.set(id, await watch(id));
      const ts = Date.now();
      await Promise.all(
        [...ids].map(async (id) => {
          const entry = watched.get(id);
          if (!entry) return;
          // A container that just stopped has no cgroup any more: it simply has no new reading.
          const usage = await readCgroupMemory(entry.dir).catch(() => undefined);
          if (!usage) return;
          if (usage.limitBytes) entry.ring.limitBytes = usage.limitBytes;
          entry.ring.push({ t: ts, bytes: usage.bytes });
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
    start: () => readings.start(),
    async stop() {
      await readings.stop();
    },
  };
}
