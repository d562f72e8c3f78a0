import { z } from 'zod';
import { EventKind } from '../event.js';

export const Severity = z.enum(['info', 'low', 'medium', 'high', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** Severities in increasing order, for comparisons such as `--fail-on`. */
export const SEVERITY_ORDER: readonly Severity[] = Severity.options;

const DURATION = /^(\d+)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A duration written as `500ms`, `30s`, `5m` or `1h`, parsed to milliseconds. */
export const Duration = z
  .string()
  .regex(DURATION, 'a duration such as 500ms, 30s, 5m or 1h')
  .transform((text) => {
    const [, amount, unit] = DURATION.exec(text) as unknown as [string, string, keyof typeof UNIT_MS];
    return Number(amount) * UNIT_MS[unit];
  });

/** A JavaScript regular expression source; compiled at load so a bad one fails start-up. */
const RegexSource = z.string().min(1).superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}` });
  }
});

const oneOrMany = <T extends z.ZodTypeAny>(item: T) => z.union([item, z.array(item).min(1)]);

/** Conditions on one normalized event; all given conditions must hold. */
export const Match = z
  .object({
    /** Event kinds this matches (docker, kernel, log, probe). */
    kind: oneOrMany(EventKind).optional(),
    /** Docker event action, exactly (`oom`, `die`, `health_status: unhealthy`). */
    action: oneOrMany(z.string().min(1)).optional(),
    /** Docker event attributes that must be equal to these values. */
    attributes: z.record(z.string(), z.string()).optional(),
    /** Exit code is one of these. */
    exitCode: oneOrMany(z.number().int()).optional(),
    /** Exit code is present and none of these. */
    exitCodeNot: z.array(z.number().int()).min(1).optional(),
    /** Regular expression searched in the message (case-sensitive unless `ignoreCase`). */
    message: RegexSource.optional(),
    ignoreCase: z.boolean().optional(),
    /** Host probe reading: metric name and threshold. */
    probe: z
      .object({ metric: z.string().min(1), atLeast: z.number().optional(), above: z.number().optional() })
      .strict()
      .optional(),
    /** The event must be attributed to a container. */
    container: z.boolean().optional(),
  })
  .strict()
  .refine((m) => Object.keys(m).some((k) => k !== 'ignoreCase' && k !== 'container'), {
    message: 'a match needs at least one condition (kind, action, attributes, exitCode, message, probe)',
  });
export type Match = z.infer<typeof Match>;

const DetectorBase = {
  /** Unique within the entry, kebab-case; names the detector in evidence. */
  id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'kebab-case'),
  /** What this detector looks for, in a sentence. */
  description: z.string().min(1).optional(),
  /**
   * Only adds evidence to an occurrence that another detector of this entry opened for the same
   * container (e.g. `die` 137 after an `oom`); never opens an incident alone.
   */
  evidenceOnly: z.boolean().optional(),
};

export const Detector = z.union([
  z.object({ ...DetectorBase, match: Match }).strict(),
  z
    .object({
      ...DetectorBase,
      /** N events matching `match` within `within` for the same container (or host). */
      window: z.object({ match: Match, count: z.number().int().min(2).max(1000), within: Duration }).strict(),
    })
    .strict(),
  z
    .object({
      ...DetectorBase,
      /** Events matching each step in order, all within `within`, for the same container. */
      sequence: z.object({ steps: z.array(Match).min(2).max(8), within: Duration }).strict(),
    })
    .strict(),
]);
export type Detector = z.infer<typeof Detector>;

/** Formats `fineprint classify` reads; `auto` recognises each of them line by line. */
export const LineFormat = z.enum(['auto', 'kmsg', 'dmesg', 'syslog', 'docker-event', 'docker-log', 'log']);
export type LineFormat = z.infer<typeof LineFormat>;

/** A real line (or several, for windows and sequences) proving a detector, or a benign look-alike. */
export const Fixture = z
  .object({
    /** One line, or several lines fed in order (windows, sequences). */
    lines: z.array(z.string().min(1)).min(1),
    format: LineFormat.default('auto'),
    /** Where the line comes from: a public source, or "seen on the test dockerd". */
    origin: z.string().min(3),
  })
  .strict();
export type Fixture = z.infer<typeof Fixture>;

export const Reference = z.object({ title: z.string().min(1), url: z.url() }).strict();

export const KbEntry = z
  .object({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'kebab-case'),
    title: z.string().min(5).max(120),
    severity: Severity,
    /** The part of the talk ("Docker - the fine print") this comes from, or "beyond the talk". */
    talk: z.string().min(3),
    /** The mechanism: why it happens, 2-6 sentences. */
    why: z.string().min(40),
    /** Concrete steps: flags, compose keys, daemon and app settings. */
    fix: z.array(z.string().min(5)).min(1),
    references: z.array(Reference).min(1),
    detectors: z.array(Detector).min(1),
    /** Entries whose occurrence for the same container this one replaces (a JVM OOM kill is jvm-heap, not oom-kill). */
    supersedes: z.array(z.string()).optional(),
    fixtures: z.object({ positive: z.array(Fixture).min(1), negative: z.array(Fixture).min(1) }).strict(),
  })
  .strict()
  .superRefine((entry, ctx) => {
    const seen = new Set<string>();
    entry.detectors.forEach((detector, index) => {
      if (seen.has(detector.id)) {
        ctx.addIssue({ code: 'custom', path: ['detectors', index, 'id'], message: `duplicate detector id "${detector.id}"` });
      }
      seen.add(detector.id);
    });
    if (entry.detectors.every((d) => d.evidenceOnly)) {
      ctx.addIssue({ code: 'custom', path: ['detectors'], message: 'at least one detector must be able to open an incident' });
    }
  });
export type KbEntry = z.infer<typeof KbEntry>;
