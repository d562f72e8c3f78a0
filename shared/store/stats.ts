import { z } from 'zod';
import { FacetCount, timeParam } from './index.js';

/** The range a stats request covers when it names none: the last 7 days. */
export const DEFAULT_STATS_RANGE_MS = 7 * 86_400_000;
/** Values per breakdown (KB entry, image, host): the most frequent, count descending then value ascending. */
export const STATS_BREAKDOWN_SIZE = 50;
/** Repeat offenders listed. */
export const STATS_OFFENDERS = 10;

/** Parameters of GET /api/v1/stats. */
export const StatsQuery = z
  .object({
    from: timeParam.optional().describe('Incidents first seen at or after this time (ISO 8601, or epoch seconds or milliseconds); default 7 days before `to`.'),
    to: timeParam.optional().describe('Incidents first seen at or before this time (ISO 8601, or epoch seconds or milliseconds); default now.'),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: '`from` must not be after `to`', path: ['from'] });
export type StatsQuery = z.infer<typeof StatsQuery>;

/** A stats range, epoch ms, both ends included. */
export interface StatsRange {
  from: number;
  to: number;
}

/** The range of a query: `to` defaults to `now`, `from` to DEFAULT_STATS_RANGE_MS before `to`. */
export function statsRange(query: StatsQuery, now: number): StatsRange {
  const to = query.to ?? now;
  return { from: query.from ?? to - DEFAULT_STATS_RANGE_MS, to };
}

/** A container with many incidents: its name (or compose service), the image of its latest incident, and its counts. */
export const RepeatOffender = z.object({
  container: z.string(),
  image: z.string().nullable(),
  /** Incidents of the container in the range. */
  incidents: z.number().int().nonnegative(),
  /** Their occurrences: a crash loop that recurs files one incident of many occurrences. */
  occurrences: z.number().int().nonnegative(),
});
export type RepeatOffender = z.infer<typeof RepeatOffender>;

/** A mean duration over the incidents it could be measured on. */
export const MeanDuration = z.object({
  /** Mean in ms; null when no incident qualifies. */
  meanMs: z.number().nonnegative().nullable(),
  /** How many incidents the mean is over. */
  incidents: z.number().int().nonnegative(),
});
export type MeanDuration = z.infer<typeof MeanDuration>;

/** What happened over a range: incidents first seen in it, counted by KB entry, image and host, how fast people reacted, and who keeps failing. */
export const IncidentStats = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  /** Incidents first seen in the range. */
  total: z.number().int().nonnegative(),
  /** By KB entry id, at most STATS_BREAKDOWN_SIZE values. */
  kb: z.array(FacetCount),
  /** By container image; host-level incidents have none and are not counted here. */
  image: z.array(FacetCount),
  /** By host name. */
  host: z.array(FacetCount),
  /** From first seen to acknowledged, over the acknowledged ones (a re-opened incident's acknowledgement is cleared). */
  timeToAcknowledge: MeanDuration,
  /** From first seen to resolved, over the resolved ones (by a person or after the quiet period). */
  timeToResolve: MeanDuration,
  /** Containers with the most occurrences, then the most incidents, at most STATS_OFFENDERS. */
  offenders: z.array(RepeatOffender),
});
export type IncidentStats = z.infer<typeof IncidentStats>;

/** A mean from a sum of durations (or the difference of two sums of times) over `incidents`. */
export function meanOf(sumMs: number | null | undefined, incidents: number): MeanDuration {
  return { meanMs: incidents > 0 && typeof sumMs === 'number' ? Math.max(0, Math.round(sumMs / incidents)) : null, incidents };
}
