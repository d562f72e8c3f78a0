import { z } from 'zod';

/** A container's recent memory usage against its limit, as an OOM incident (or its warning) carries it. */
export const MemoryCurve = z.object({
  /** The container's memory limit, bytes. */
  limitBytes: z.number().int().positive(),
  /**
   * Readings of the container's memory usage without its inactive file cache (as `docker stats`
   * shows it), oldest first (`t`: ms since epoch); the last is the kill, or for a warning the latest reading.
   */
  points: z.array(z.object({ t: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() })).max(2000),
  /** Slope of usage over the points (least squares), bytes per second. */
  growthBytesPerSec: z.number().int(),
  /** From the last time usage crossed 80 % of the limit to the kill (the last point), ms; absent when it never did. */
  from80ToKillMs: z.number().int().nonnegative().optional(),
});
export type MemoryCurve = z.infer<typeof MemoryCurve>;

/**
 * Which limit an OOM kill exhausted: the container's own memory limit, a parent cgroup's limit
 * (a slice, a pod) or the host's memory (a global OOM).
 */
export const OomScope = z.enum(['container', 'parent', 'host']);
export type OomScope = z.infer<typeof OomScope>;

/**
 * Who used the host's memory when it ran out (a global OOM), most first: the containers and the
 * processes at that moment, so an incident names the culprit and not just the victim.
 */
export const MemoryUsers = z.object({
  /** Containers by memory: the collector's latest reading of each, else the resident memory of its processes in the task dump. */
  containers: z.array(z.object({ id: z.string().max(64), name: z.string().max(256).optional(), bytes: z.number().int().nonnegative() })).max(10),
  /** Processes by resident memory (rss), with the container each runs in, when it runs in one. */
  processes: z
    .array(z.object({ pid: z.number().int().nonnegative(), name: z.string().max(64), rssBytes: z.number().int().nonnegative(), containerId: z.string().max(64).optional() }))
    .max(10),
  /** Where the processes come from: the kernel's task dump in its OOM report, or /proc right after it (a report without one). */
  processesFrom: z.enum(['task-dump', 'proc']),
});
export type MemoryUsers = z.infer<typeof MemoryUsers>;
