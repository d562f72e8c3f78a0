import { z } from 'zod';
import type { Severity } from './kb/schema.js';

/*
 * The audit's findings as they travel from the collector (embedded queue, the risks topic) to the
 * risk store. Kept apart from shared/risk.ts, which the store and API use: the collector records
 * (shared/event.ts) import this file, and nothing here imports back.
 */

/**
 * The KB's severities, spelled out: shared/kb/schema.ts imports shared/event.ts, which imports this
 * file, so importing the schema's enum here would be a cycle. `satisfies` checks each is one of
 * the schema's; test/unit/risks.test.ts that none is missing.
 */
const FindingSeverity = z.enum(['info', 'low', 'medium', 'high', 'critical'] as const satisfies readonly Severity[]);

/** Version of the risk record format on the wire (embedded queue and the risks topic). */
export const RISK_RECORD_VERSION = 1;

/** One audit finding, as it travels and as an incident quotes it. */
export const RiskFinding = z.object({
  /** The KB entry that explains the fine print. */
  kbId: z.string().min(1).max(100),
  severity: FindingSeverity,
  message: z.string().max(2000),
  /** A concrete one-liner. */
  fix: z.string().max(2000),
});
export type RiskFinding = z.infer<typeof RiskFinding>;

/**
 * What the collector sends: `audit` is the complete set of findings of one container (or, with
 * `container: null`, of the daemon) at `observedAt`; an empty set (a removed container) clears it.
 * `present` lists every container that exists on the host at `observedAt`: the risks of any other
 * container last audited before then are gone (it was removed while nobody watched).
 */
export const RiskRecord = z.discriminatedUnion('scope', [
  z.object({
    v: z.literal(RISK_RECORD_VERSION),
    scope: z.literal('audit'),
    host: z.string().min(1).max(253),
    container: z.object({ id: z.string().regex(/^[0-9a-f]{12,64}$/), name: z.string(), image: z.string() }).nullable(),
    observedAt: z.number().int().nonnegative(),
    findings: z.array(RiskFinding).max(200),
  }),
  z.object({
    v: z.literal(RISK_RECORD_VERSION),
    scope: z.literal('present'),
    host: z.string().min(1).max(253),
    observedAt: z.number().int().nonnegative(),
    /** Full container ids. */
    containers: z.array(z.string().regex(/^[0-9a-f]{12,64}$/)).max(100_000),
  }),
]);
export type RiskRecord = z.infer<typeof RiskRecord>;

/** The partition key that keeps one container's risk records in order (host + container). */
export function riskRecordKey(record: RiskRecord): string {
  return `${record.host}/${record.scope === 'audit' ? (record.container?.id ?? '') : ''}`;
}

