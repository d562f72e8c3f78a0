import { z } from 'zod';
import { MemoryCurve, MemoryUsers } from './memory-curve.js';
import { RiskFinding, RiskRecord, riskRecordKey } from './risk-record.js';

/** Version of the record format on the wire (embedded queue and Kafka). */
export const RECORD_VERSION = 1;

/**
 * Where a normalized event comes from; detectors in kb/ select on this. `audit` was a finding of
 * the fine-print checks in earlier versions (findings are risk records now): such an event still
 * in a queue from before an upgrade files nothing.
 */
export const EventKind = z.enum(['docker', 'kernel', 'log', 'probe', 'audit']);
export type EventKind = z.infer<typeof EventKind>;

/** The container an event is about, as far as the source knows it. */
export const ContainerRef = z.object({
  /** Full 64-hex container id. */
  id: z.string().regex(/^[0-9a-f]{12,64}$/),
  name: z.string().optional(),
  image: z.string().optional(),
});
export type ContainerRef = z.infer<typeof ContainerRef>;

/**
 * One observation from a source, normalized. Everything a detector can match on lives here.
 * Secrets are redacted before an event is built (see shared/redact.ts).
 */
export const NormalizedEvent = z.object({
  v: z.literal(RECORD_VERSION),
  /** Deterministic id: the same observation read twice gets the same id (replays dedupe on it). */
  id: z.string().min(1).max(200),
  /** Name of the host whose collector saw the event. */
  host: z.string().min(1).max(253),
  kind: EventKind,
  /** Name of the source that read it (docker-events, kmsg, container-logs, host-probe, classify). */
  source: z.string().min(1).max(64),
  /** Event time, milliseconds since the epoch. */
  ts: z.number().int().nonnegative(),
  /** Human-readable text: the kernel message, the log line, or a rendering of the Docker event. */
  message: z.string().max(16384),
  container: ContainerRef.optional(),
  /** Docker Engine event details (kind "docker"). */
  docker: z
    .object({
      type: z.string(),
      action: z.string(),
      attributes: z.record(z.string(), z.string()),
    })
    .optional(),
  /** Exit code of a `die` event or of a compose "exited with code N" line. */
  exitCode: z.number().int().optional(),
  /** Kernel record details (kind "kernel"). */
  kernel: z
    .object({
      seq: z.number().int().nonnegative().optional(),
      level: z.number().int().min(0).max(7).optional(),
      facility: z.number().int().nonnegative().optional(),
      /** Container ids found in cgroup paths of the message (memcg, pids controller). */
      cgroupIds: z.array(z.string()).optional(),
    })
    .optional(),
  /** Log line details (kind "log"). */
  log: z.object({ stream: z.enum(['stdout', 'stderr', 'daemon', 'file']) }).optional(),
  /** Host probe reading (kind "probe"). */
  probe: z
    .object({
      metric: z.string(),
      value: z.number(),
      /** What was measured: a path, a container id... */
      subject: z.string().optional(),
    })
    .optional(),
  /** The audit finding of an `audit` event written by an earlier version (see EventKind); files nothing. */
  audit: z.object({ kbId: z.string().min(1).max(100) }).optional(),
  /** True when the event was synthesized from inspect after a gap in the events stream. */
  reconciled: z.boolean().optional(),
  /** The container's memory readings up to an OOM kill (a Docker `oom` event of a limited container). */
  memoryCurve: MemoryCurve.optional(),
  /** Who used the host's memory at a global OOM (the kill line of its kernel report). */
  memoryUsers: MemoryUsers.optional(),
});
export type NormalizedEvent = z.infer<typeof NormalizedEvent>;

/** One filesystem mounted into a container: volume, bind mount or tmpfs (from inspect). */
export const ContainerMount = z.object({
  /** `volume`, `bind`, `tmpfs` (or another type the daemon reports: `image`, `npipe`...). */
  type: z.string().max(32),
  /** The volume's name, or the host path of a bind mount; absent for tmpfs. */
  source: z.string().max(4096).optional(),
  /** The path inside the container. */
  destination: z.string().max(4096),
  readOnly: z.boolean(),
  /** A tmpfs mount's size limit in bytes, when one is set. */
  sizeBytes: z.number().int().nonnegative().optional(),
});
export type ContainerMount = z.infer<typeof ContainerMount>;

/**
 * Facts about one container, from inspect, redacted on the host before they travel.
 * Sent by the collector when a container appears or changes; the classifier enriches with them.
 */
/** Characters of a health check's output kept in a container's facts. */
export const MAX_HEALTH_OUTPUT = 1000;

export const ContainerFacts = z.object({
  v: z.literal(RECORD_VERSION),
  host: z.string().min(1),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string(),
  image: z.string(),
  /** The image's id (`sha256:...`) the container runs; absent in facts from before it was collected. */
  imageId: z.string().max(200).optional(),
  /** When these facts were read (ms since epoch). */
  observedAt: z.number().int(),
  created: z.string().optional(),
  compose: z.object({ project: z.string(), service: z.string() }).optional(),
  limits: z.object({
    /** Bytes; 0 = unlimited. */
    memory: z.number(),
    memorySwap: z.number(),
    /** 0 or -1 = unlimited. */
    pids: z.number(),
    oomKillDisable: z.boolean(),
    nanoCpus: z.number(),
  }),
  restartPolicy: z.object({ name: z.string(), maximumRetryCount: z.number() }),
  health: z
    .object({
      status: z.string(),
      failingStreak: z.number(),
      /** The last health check's output, redacted and cut to MAX_HEALTH_OUTPUT characters. */
      lastOutput: z.string().max(MAX_HEALTH_OUTPUT).optional(),
    })
    .optional(),
  state: z.object({
    status: z.string(),
    exitCode: z.number(),
    oomKilled: z.boolean(),
    restartCount: z.number(),
    startedAt: z.string(),
    finishedAt: z.string(),
  }),
  /** Env as NAME=[REDACTED]: names only, never values. */
  env: z.array(z.string()),
  /** Entrypoint + Cmd with secret-looking arguments redacted. */
  command: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  user: z.string(),
  init: z.boolean(),
  hostname: z.string(),
  networkMode: z.string(),
  privileged: z.boolean(),
  logDriver: z.string(),
  logOptions: z.record(z.string(), z.string()),
  /** Volumes, bind mounts and tmpfs mounts; absent in facts from before mounts were collected. */
  mounts: z.array(ContainerMount).max(200).optional(),
  /** The audit's findings on this inspect: what an incident of the container quotes as foreseeable. */
  risks: z.array(RiskFinding).max(200).optional(),
});
export type ContainerFacts = z.infer<typeof ContainerFacts>;

/** The last lines a container wrote before it died, redacted like every log line. */
export const LastWords = z.object({
  /** Oldest first. */
  lines: z.array(z.object({ stream: z.enum(['stdout', 'stderr']), text: z.string().max(16384) })).max(1000),
  /** True when the container wrote more than the tail kept (lines or bytes). */
  truncated: z.boolean(),
});
export type LastWords = z.infer<typeof LastWords>;

/** A container's last words, read by the collector once it died; the classifier joins them to its incidents. */
export const ContainerLastWords = LastWords.extend({
  v: z.literal(RECORD_VERSION),
  host: z.string().min(1),
  container: ContainerRef,
  /** When the container died (ms since epoch). */
  ts: z.number().int().nonnegative(),
});
export type ContainerLastWords = z.infer<typeof ContainerLastWords>;

/** What travels from collector to classifier: an event or container facts. */
export const CollectorRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('event'), event: NormalizedEvent }),
  z.object({ type: z.literal('facts'), facts: ContainerFacts }),
  z.object({ type: z.literal('lastWords'), lastWords: ContainerLastWords }),
  /** The audit's findings: they travel on their own topic to the risk store, never to the classifier. */
  z.object({ type: z.literal('risks'), risks: RiskRecord }),
]);
export type CollectorRecord = z.infer<typeof CollectorRecord>;

/** The partition key that keeps one container's records in order (host + container). */
export function recordKey(record: CollectorRecord): string {
  if (record.type === 'facts') return `${record.facts.host}/${record.facts.id}`;
  if (record.type === 'risks') return riskRecordKey(record.risks);
  if (record.type === 'lastWords') return `${record.lastWords.host}/${record.lastWords.container.id}`;
  return `${record.event.host}/${record.event.container?.id ?? ''}`;
}
