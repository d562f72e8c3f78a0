import { createContainerLogsSource, type ContainerLogsSource } from './sources/container-logs.js';
import { createDockerEventsSource } from './sources/docker-events.js';
import { createHostProbeSource } from './sources/host-probe.js';
import { createKmsgSource, type KmsgSource } from './sources/kmsg.js';
import { createMemorySource, type MemorySource } from './sources/memory.js';
import type { Source, SourceContext } from './sources/source.js';

export type SourceName = 'docker-events' | 'kmsg' | 'container-logs' | 'host-probe' | 'memory';

export interface CollectorOptions {
  /** Kernel message device; "off" disables the kmsg source. */
  kmsgPath: string;
  /** Read the kernel records already in the ring buffer at first start. Default false. */
  kmsgBackfill?: boolean;
  /** Which container log lines become events (the classifier's log prefilter). */
  logAccept: (message: string) => boolean;
  /** Accepted log lines per container per second; the rest is counted and dropped. Default 200. */
  logLinesPerSecond?: number;
  /** What a dying container's incident keeps of its last log lines. Default 50 lines, 65536 characters. */
  lastWords?: { lines: number; chars: number };
  /** Time between host probe readings, ms. Default 30000. */
  probeIntervalMs?: number;
  /** Time between memory readings of containers with a memory limit, ms. Default 5000. */
  memoryIntervalMs?: number;
  /** Where the host's cgroup fs is mounted (memory readings); without it they come from the Docker stats API. Default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** A container above this fraction of its memory limit for `pressureForMs` is under memory pressure. Default 0.9 for 60 s. */
  memoryPressure?: { fraction: number; forMs: number };
  /** Audit each container that starts, and everything periodically (risk records). Default true. */
  auditOnStart?: boolean;
  /** Re-audit every running container and the daemon this often, ms (0: only after each connect). Default 1 h. */
  auditIntervalMs?: number;
  /** Sources to run. Default: all five. */
  sources?: SourceName[];
}

export interface Collector {
  /** Starts every source; resolves once each took its first reading (Docker may still be down). */
  start(): Promise<void>;
  /** Stops every source after it sent what it read. */
  stop(): Promise<void>;
}

/**
 * The collector of one Docker host. Container-logs learns about starts and exits from the
 * docker-events source (which calls it for each event and after each reconnect), and kmsg the
 * host pid of each container's PID 1 from its inspects, so one events stream serves all three.
 */
export function createCollector(ctx: SourceContext, options: CollectorOptions): Collector {
  const enabled = new Set<SourceName>(options.sources ?? ['docker-events', 'kmsg', 'container-logs', 'host-probe', 'memory']);
  if (options.kmsgPath === 'off') enabled.delete('kmsg');
  const sources: Source[] = [];
  let logs: ContainerLogsSource | undefined;
  if (enabled.has('container-logs')) {
    logs = createContainerLogsSource(ctx, {
      accept: options.logAccept,
      ...(options.logLinesPerSecond !== undefined ? { maxLinesPerSecond: options.logLinesPerSecond } : {}),
      ...(options.lastWords ? { lastWords: options.lastWords } : {}),
    });
    sources.push(logs);
  }
  const memory: MemorySource | undefined = enabled.has('memory')
    ? createMemorySource(ctx, {
        ...(options.memoryIntervalMs !== undefined ? { intervalMs: options.memoryIntervalMs } : {}),
        ...(options.cgroupRoot !== undefined ? { cgroupRoot: options.cgroupRoot } : {}),
        ...(options.memoryPressure ? { pressureFraction: options.memoryPressure.fraction, pressureForMs: options.memoryPressure.forMs } : {}),
      })
    : undefined;
  const kmsg: KmsgSource | undefined = enabled.has('kmsg')
    ? createKmsgSource(ctx, {
        path: options.kmsgPath,
        backfill: options.kmsgBackfill ?? false,
        // A global OOM names the containers using the most memory by their latest readings.
        ...(memory ? { containerMemory: () => memory.latest() } : {}),
      })
    : undefined;
  // Before docker-events: an OOM event asks it for the container's curve.
  if (memory) sources.push(memory);
  if (enabled.has('docker-events')) {
    const follower = logs;
    sources.push(
      createDockerEventsSource(ctx, {
        ...(options.auditOnStart !== undefined ? { auditOnStart: options.auditOnStart } : {}),
        ...(options.auditIntervalMs !== undefined ? { auditIntervalMs: options.auditIntervalMs } : {}),
        ...(memory ? { memoryCurve: (id: string, killTs: number) => memory.curveOf(id, killTs) } : {}),
        listener: {
          onEvent: (e) => follower?.observe(e),
          onReconnect: () => follower?.resync(),
          // Kernel kill lines name the victim by pid only when the OOM summary was rate-limited.
          onInspect: (info) => kmsg?.observeContainer(info),
        },
      }),
    );
  }
  if (kmsg) sources.push(kmsg);
  if (enabled.has('host-probe')) {
    sources.push(createHostProbeSource(ctx, options.probeIntervalMs !== undefined ? { intervalMs: options.probeIntervalMs } : {}));
  }

  return {
    async start() {
      // Container-logs first: it must be ready before docker-events hands it the first event.
      for (const source of sources) {
        await source.start();
        ctx.log.info({ source: source.name }, 'Collector source started.');
      }
    },
    async stop() {
      // Reverse order: docker-events stops calling container-logs before container-logs stops.
      for (const source of [...sources].reverse()) await source.stop();
    },
  };
}
