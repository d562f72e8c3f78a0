import { z } from 'zod';
import { commonConfig, configFields } from '../../shared/config.js';

/** The collector's settings (see README, "Configuration"). */
export const collectorConfig = {
  ...commonConfig,
  /** Docker Engine to watch: unix:///path or tcp://127.0.0.1:2375 (default the local socket). */
  DOCKER_HOST: z
    .string()
    .regex(/^(unix:\/\/\/.+|tcp:\/\/[^/]+:\d+|npipe:.+)$/, 'unix:///path/to/docker.sock or tcp://host:port')
    .default('unix:///var/run/docker.sock'),
  /** Kernel message device; set to "off" to disable the kmsg source. */
  FINEPRINT_KMSG: z.string().min(1).default('/dev/kmsg'),
  /** Also classify kernel records already in the ring buffer at first start. */
  FINEPRINT_KMSG_BACKFILL: configFields.boolean.default(false),
  /** Seconds between host probes (disk, inodes, log sizes, zombies). */
  FINEPRINT_PROBE_INTERVAL: z.coerce.number().int().min(1).max(86_400).default(30),
  /** Audit each container when it starts (and all of them periodically) and keep its fine print as risks, never as incidents. */
  FINEPRINT_AUDIT_ON_START: configFields.boolean.default(true),
  /** Seconds between re-audits of every running container and the daemon (0: only at start and after reconnecting to Docker). */
  FINEPRINT_AUDIT_INTERVAL: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(3600)
    .describe('Seconds between re-audits of every running container and of the Docker daemon, which refresh the risks (default 3600; 0: only when the collector starts or reconnects to Docker).'),
  /** Matching log lines forwarded per container per second; the rest is counted and dropped. */
  FINEPRINT_LOG_LINES_PER_SECOND: z.coerce.number().int().min(1).max(100_000).default(200),
};
