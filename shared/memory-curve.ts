import { z } from 'zod';

/** A container's recent memory usage against its limit, as an OOM incident carries it. */
export const MemoryCurve = z.object({
  /** The container's memory limit, bytes. */
  limitBytes: z.number().int().positive(),
  /** Readings of the memory cgroup's usage, oldest first (`t`: ms since epoch); the last is the kill. */
  points: z.array(z.object({ t: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() })).max(2000),
  /** Slope of usage over the points (least squares), bytes per second. */
  growthBytesPerSec: z.number().int(),
  /** From the last time usage crossed 80 % of the limit to the kill, ms; absent when it never did. */
  from80ToKillMs: z.number().int().nonnegative().optional(),
});
export type MemoryCurve = z.infer<typeof MemoryCurve>;

/**
 * Which limit an OOM kill exhausted: the container's own memory limit, a parent cgroup's limit
 * (a slice, a pod) or the host's memory (a global OOM).
 */
export const OomScope = z.enum(['container', 'parent', 'host']);
export type OomScope = z.infer<typeof OomScope>;
