import { createHash } from 'node:crypto';
import { z } from 'zod';
import { IncidentContainer } from './incident.js';
import { Severity, severityRank } from './kb/schema.js';
import type { RiskFinding, RiskRecord } from './risk-record.js';
import { MAX_PAGE, DEFAULT_PAGE, FacetCount } from './store/index.js';

export { severityRank } from './kb/schema.js';

/*
 * Risks: the fine print a container (or the daemon) is exposed to now, as the audit finds it. They
 * are a posture, not events: one row per (host, container, KB entry), replaced by every audit of
 * that container, gone when the container is removed. They never become incidents.
 */

/** One current risk as the API serves it. */
export const Risk = z.object({
  /** Stable id of (host, container, KB entry). */
  id: z.string(),
  host: z.string(),
  /** Null: a finding of the daemon itself. */
  container: IncidentContainer.nullable(),
  kbId: z.string(),
  severity: Severity,
  message: z.string(),
  fix: z.string(),
  /** First audit that found it (since it last appeared). */
  firstSeen: z.iso.datetime(),
  /** Latest audit that found it. */
  lastSeen: z.iso.datetime(),
});
export type Risk = z.infer<typeof Risk>;

/** The id of a risk row: a hash of host, container id (empty for the daemon) and KB entry. */
export function riskId(host: string, containerId: string | null, kbId: string): string {
  return createHash('sha256').update(`${host}\u0000${containerId ?? ''}\u0000${kbId}`).digest('base64url').slice(0, 22);
}

/**
 * A container's weight in "worst containers": each finding counts 1000^rank, so one more finding
 * of a higher severity outweighs any number (below 1000) of lower ones.
 */
export const severityWeight = (severity: Severity): number => 1000 ** severityRank(severity);

/** Filters of the risk list, shared by the REST API and both stores. */
export const RiskQuery = z
  .object({
    host: z.string().max(253).optional().describe('Host name, exactly.'),
    container: z
      .string()
      .max(256)
      .optional()
      .describe('Container name, or container id prefix (at least 12 hex characters); `daemon` for the findings of the Docker daemon itself.'),
    kbId: z.string().max(100).optional().describe('KB entry id, e.g. pids-exhausted.'),
    severity: Severity.optional().describe('Severity, exactly.'),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE).describe(`Page size (default ${DEFAULT_PAGE}, at most ${MAX_PAGE}).`),
    cursor: z.string().max(200).optional().describe("Opaque cursor from the previous page's nextCursor."),
  })
  .strict();
export type RiskQuery = z.infer<typeof RiskQuery>;

/** The value of the `container` filter that selects the daemon's own findings. */
export const DAEMON_FILTER = 'daemon';

/** Whether a `container` filter is an id prefix rather than a name. */
export const isContainerIdPrefix = (value: string): boolean => /^[0-9a-f]{12,64}$/.test(value);

export const RiskPage = z.object({
  /** Most severe first, then by id (stable across pages). */
  risks: z.array(Risk),
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type RiskPage = z.infer<typeof RiskPage>;

/** Counts of the risks a query matches (its `cursor` and `limit` are ignored). */
export const RiskFacets = z.object({
  total: z.number().int().nonnegative(),
  kbId: z.array(FacetCount),
  host: z.array(FacetCount),
  severity: z.array(FacetCount),
  /** By container name; the daemon's findings are not counted here. */
  container: z.array(FacetCount),
});
export type RiskFacets = z.infer<typeof RiskFacets>;

const SeverityCounts = z.object({
  info: z.number().int().nonnegative(),
  low: z.number().int().nonnegative(),
  medium: z.number().int().nonnegative(),
  high: z.number().int().nonnegative(),
  critical: z.number().int().nonnegative(),
});
export type SeverityCounts = z.infer<typeof SeverityCounts>;

/** Containers listed in a summary's `worstContainers`. */
export const WORST_CONTAINERS = 10;

/** The posture at a glance. */
export const RiskSummary = z.object({
  total: z.number().int().nonnegative(),
  bySeverity: SeverityCounts,
  /** Every KB entry with risks, most risks first. */
  byKb: z.array(z.object({ kbId: z.string(), total: z.number().int().nonnegative(), bySeverity: SeverityCounts })),
  /** The containers most exposed (most severe findings first), at most WORST_CONTAINERS. */
  worstContainers: z.array(
    z.object({ host: z.string(), container: IncidentContainer, total: z.number().int().nonnegative(), bySeverity: SeverityCounts }),
  ),
});
export type RiskSummary = z.infer<typeof RiskSummary>;
export { RiskFinding, RiskRecord, RISK_RECORD_VERSION, riskRecordKey } from './risk-record.js';

export const emptySeverityCounts = (): SeverityCounts => ({ info: 0, low: 0, medium: 0, high: 0, critical: 0 });

/** Findings in a set of severity counts. */
export const severityTotal = (counts: SeverityCounts): number => counts.info + counts.low + counts.medium + counts.high + counts.critical;

/** Where risks are kept: a table of the embedded store, an index of the Elasticsearch store; same contract. */
export interface RiskStore {
  /**
   * Applies risk records in order; resolves once durable. Idempotent: replaying records in order
   * leaves the same rows.
   */
  applyRisks(records: readonly RiskRecord[]): Promise<void>;
  searchRisks(query: RiskQuery): Promise<RiskPage>;
  riskFacets(query: RiskQuery): Promise<RiskFacets>;
  riskSummary(): Promise<RiskSummary>;
}

/** The findings of one audit, one per KB entry (the most severe when a check reports several). */
export function findingsByKb(findings: readonly RiskFinding[]): RiskFinding[] {
  const byKb = new Map<string, RiskFinding>();
  for (const f of findings) {
    const seen = byKb.get(f.kbId);
    if (!seen || severityRank(f.severity) > severityRank(seen.severity)) byKb.set(f.kbId, f);
  }
  return [...byKb.values()];
}

/** A finding that made an incident possible, as the incident quotes it. */
export const IncidentRisk = z.object({
  kbId: z.string(),
  message: z.string(),
  fix: z.string(),
});
export type IncidentRisk = z.infer<typeof IncidentRisk>;

/**
 * The findings of a container (from the facts of its incident) that its incident's KB entry names
 * in `foreseenBy`, in that order: what the audit said before the failure.
 */
export function foreseeableRisks(foreseenBy: readonly string[] | undefined, findings: readonly RiskFinding[] | undefined): IncidentRisk[] {
  return (foreseenBy ?? []).flatMap((kbId) => (findings ?? []).filter((f) => f.kbId === kbId).map((f) => ({ kbId: f.kbId, message: f.message, fix: f.fix })));
}
