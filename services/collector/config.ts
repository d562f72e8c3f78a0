import { z } from 'zod';
import { commonConfig, configFields } from '../../shared/config.js';
import { dockerConfig } from '../../shared/docker.js';
import type { CollectorOptions } from './index.js';

/** The collector's settings (docs/configuration.md). */
export const collectorConfig = {
  ...commonConfig,
  ...dockerConfig,
  FINEPRINT_KMSG: z.string().min(1).default('/dev/kmsg').describe('Kernel message device; `off` disables the kmsg source.'),
  FINEPRINT_KMSG_BACKFILL: configFields.boolean
    .default(false)
    .describe('Also classify the kernel records already in the ring buffer at first start.'),
  FINEPRINT_PROBE_INTERVAL: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(30)
    .describe('Seconds between host probes (disk, inodes, log sizes, zombies).'),
  FINEPRINT_MEMORY_INTERVAL: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(5)
    .describe('Seconds between memory readings of each running container with a memory limit (its cgroup); an OOM incident carries the last 10 minutes of them.'),
  FINEPRINT_MEMORY_PRESSURE_PCT: z.coerce
    .number()
    .min(1)
    .max(100)
    .default(90)
    .describe('Percent of its memory limit (usage without the inactive file cache) above which a container is under memory pressure: staying there for `FINEPRINT_MEMORY_PRESSURE_FOR`, or hitting its limit while there, files a `memory-pressure` warning that its OOM kill, if it comes, joins.'),
  FINEPRINT_MEMORY_PRESSURE_FOR: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(60)
    .describe('Seconds a container must stay above `FINEPRINT_MEMORY_PRESSURE_PCT` of its memory limit before its `memory-pressure` warning is filed.'),
  FINEPRINT_CGROUP_ROOT: z
    .string()
    .min(1)
    .default('/sys/fs/cgroup')
    .describe("Where the host's cgroup fs is mounted, for the memory readings; when it is not there (a collector in a container without it), they come from the Docker stats API instead."),
  FINEPRINT_AUDIT_ON_START: configFields.boolean
    .default(true)
    .describe('Audit each container when it starts (and all of them periodically) and keep its fine print as risks, never as incidents.'),
  FINEPRINT_AUDIT_INTERVAL: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(3600)
    .describe('Seconds between re-audits of every running container and of the Docker daemon, which refresh the risks (0: only when the collector starts or reconnects to Docker).'),
  FINEPRINT_LOG_LINES_PER_SECOND: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(200)
    .describe('Matching log lines forwarded per container per second; the rest is counted in `fineprint_events_discarded_total` and dropped.'),
  FINEPRINT_LAST_WORDS_LINES: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(50)
    .describe('Last log lines of a container (stdout and stderr, redacted) that its incident keeps when it dies with a non-zero exit (0: none).'),
  FINEPRINT_LAST_WORDS_CHARS: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1_048_576)
    .default(65_536)
    .describe('Most characters of those last lines kept per container: the collector never buffers more, whatever a container writes.'),
};

export type CollectorConfig = z.infer<z.ZodObject<typeof collectorConfig>>;

/** The collector's options from its settings: the collector role and the all-in-one read the same. */
export function collectorOptions(config: CollectorConfig, logAccept: CollectorOptions['logAccept']): CollectorOptions {
  return {
    kmsgPath: config.FINEPRINT_KMSG,
    kmsgBackfill: config.FINEPRINT_KMSG_BACKFILL,
    logAccept,
    logLinesPerSecond: config.FINEPRINT_LOG_LINES_PER_SECOND,
    lastWords: { lines: config.FINEPRINT_LAST_WORDS_LINES, chars: config.FINEPRINT_LAST_WORDS_CHARS },
    probeIntervalMs: config.FINEPRINT_PROBE_INTERVAL * 1000,
    memoryIntervalMs: config.FINEPRINT_MEMORY_INTERVAL * 1000,
    cgroupRoot: config.FINEPRINT_CGROUP_ROOT,
    memoryPressure: { fraction: config.FINEPRINT_MEMORY_PRESSURE_PCT / 100, forMs: config.FINEPRINT_MEMORY_PRESSURE_FOR * 1000 },
    auditOnStart: config.FINEPRINT_AUDIT_ON_START,
    auditIntervalMs: config.FINEPRINT_AUDIT_INTERVAL * 1000,
  };
}
