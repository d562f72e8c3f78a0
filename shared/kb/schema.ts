import { z } from 'zod';
import { ContainerMount, EventKind } from '../event.js';
import { TALK_POINT_IDS } from './talk.js';

export const Severity = z.enum(['info', 'low', 'medium', 'high', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** Severities in increasing order, for comparisons such as `--fail-on`. */
export const SEVERITY_ORDER: readonly Severity[] = Severity.options;

/** Severity as a number for comparing and sorting: info 0 ... critical 4. */
export const severityRank = (severity: Severity): number => SEVERITY_ORDER.indexOf(severity);

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
  /**
   * `container`: in the live pipeline an event of this detector that names no container is
   * attributed to the container whose occurrence of the same entry it accompanies (memcg path, pid,
   * or the oom/die events around it) and never opens a host-level incident; pasted lines
   * (`fineprint classify`) match as usual.
   */
  attribution: z.enum(['container']).optional(),
  /**
   * Fires only when the volume or bind mount holding the message's `path` group (any of the
   * container's without one) served a container of another hostname before: a node that starts
   * empty beside its predecessor's data, not a fresh node. Needs the container's facts, so a pasted
   * line never meets it.
   */
  volumeReused: z.literal(true).optional(),
  /**
   * What the event means in this container's setup, kept with its evidence: the first note whose
   * placeholders all have a value (see NOTE_PLACEHOLDERS; also the message regex's named groups).
   */
  notes: z.array(z.string().min(10).max(600)).min(1).max(5).optional(),
};

/**
 * Placeholders a detector's notes may use besides the named groups of its message regex. Those
 * about a mount refer to the one holding the message's `path` group: `mount` (where it is mounted),
 * `volume` (volume name or host path), `tmpfs` and `tmpfsSize` (only when it is a tmpfs with a size),
 * and with `volumeReused` the container that used the volume before (`previousHostname`,
 * `previousContainer`).
 */
const NOTE_PLACEHOLDERS = ['mount', 'volume', 'tmpfs', 'tmpfsSize', 'previousHostname', 'previousContainer'] as const;

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;
const NAMED_GROUP = /\(\?<([A-Za-z_$][\w$]*)>/g;

/** The `{name}` placeholders of a note. */
export const notePlaceholders = (note: string): string[] => [...note.matchAll(PLACEHOLDER)].map((m) => m[1] as string);

/** The named groups (`(?<name>...)`) of a regex source. */
const namedGroups = (source: string): string[] => [...source.matchAll(NAMED_GROUP)].map((m) => m[1] as string);

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

/** A detector's matches: its match, its window's, or its sequence's steps in order. */
export function detectorMatches(detector: Detector): Match[] {
  if ('match' in detector) return [detector.match];
  if ('window' in detector) return [detector.window.match];
  return detector.sequence.steps;
}

/**
 * Formats `fineprint classify` reads; `auto` recognises each of them line by line. `syslog` covers
 * RFC 3164 (with or without host), RFC 5424, journalctl's short-* forms and syslogd broadcasts;
 * `journal-json` is `journalctl -o json`; `docker-log` is `docker logs -t`, compose prefixes and
 * Docker's json-file lines; `cri` is the CRI (containerd, CRI-O) log file format; `kernel` is bare
 * kernel text without any prefix.
 */
export const LineFormat = z.enum(['auto', 'kmsg', 'dmesg', 'syslog', 'journal-json', 'docker-event', 'docker-log', 'cri', 'log', 'kernel']);
export type LineFormat = z.infer<typeof LineFormat>;

/** A real line (or several, for windows and sequences) proving a detector, or a benign look-alike. */
export const Fixture = z
  .object({
    /** One line, or several lines fed in order (windows, sequences). */
    lines: z.array(z.string().min(1)).min(1),
    format: LineFormat.default('auto'),
    /**
     * The container the lines come from, for detectors that look at its setup (`volumeReused`,
     * notes): its hostname and mounts, and the hostname of a container that used the same mounts
     * before it. Without it the lines come from no container, as pasted lines do.
     */
    container: z
      .object({
        hostname: z.string().min(1).max(255),
        mounts: z.array(ContainerMount).min(1).max(10),
        previousHostname: z.string().min(1).max(255).optional(),
      })
      .strict()
      .optional(),
    /** Where the line comes from: a public source, or "seen on the test dockerd". */
    origin: z.string().min(3),
  })
  .strict();
export type Fixture = z.infer<typeof Fixture>;

export const Reference = z.object({ title: z.string().min(1), url: z.url() }).strict();

/**
 * How an entry is served: `runtime` (its detectors see it in Docker events, kernel messages, logs or
 * host probes), `audit` (it cannot be seen in events or logs; the `fineprint audit` checks of the
 * container and daemon configuration find it, see `audit`), or `both`.
 */
export const Detection = z.enum(['runtime', 'audit', 'both']);
export type Detection = z.infer<typeof Detection>;

/** One change since the talk (2016): the version that brought it and a reference that proves it. */
export const Change = z
  .object({
    /** The Docker, kernel, runtime or application version, e.g. "Docker 1.13", "JDK 10, 8u191". */
    version: z.string().min(2),
    /** What changed, in a sentence. */
    what: z.string().min(10),
    /** Release notes, docs, issue or commit that proves it. */
    reference: z.url(),
  })
  .strict();
export type Change = z.infer<typeof Change>;

/** What still holds on current Docker, kernels and runtimes, and what changed since the talk. */
export const Today = z
  .object({
    /** What still bites today, in a few sentences. */
    holds: z.string().min(20),
    /** Changes since 2016, oldest first; may be empty when nothing changed. */
    changed: z.array(Change),
  })
  .strict();
export type Today = z.infer<typeof Today>;

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
    /**
     * How this entry is served (runtime detectors, audit checks, or both). Optional for backwards
     * compatibility, where absent it means `runtime`; every shipped entry sets it.
     */
    detection: Detection.optional(),
    /** The points of the talk this entry covers (ids of shared/kb/talk.ts); empty for "beyond the talk". */
    covers: z.array(z.enum(TALK_POINT_IDS)).optional(),
    /**
     * Topics for routing notifications (a route's `tag`), 1-3 lowercase words such as memory, jvm,
     * storage, logging, networking, process, security, cluster. Optional; every shipped entry sets it.
     */
    tags: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/, 'a lowercase word')).min(1).max(3).optional(),
    /** What still holds today and what changed since the talk; every shipped entry sets it. */
    today: Today.optional(),
    /**
     * What `fineprint audit` checks for this entry, in words (container inspect, daemon info, host).
     * Required when `detection` is `audit` or `both`.
     */
    audit: z.array(z.string().min(10)).optional(),
    /**
     * Ids of entries whose audit findings make this failure possible (no pids limit before a fork
     * bomb): an incident of a container that had such a finding quotes it as foreseeable.
     */
    foreseenBy: z.array(z.string()).optional(),
    /** Empty only for `detection: audit` (the fine print cannot be seen in events or logs). */
    detectors: z.array(Detector),
    /**
     * An incident of this entry quiet for this long resolves itself (e.g. `15m`); default the
     * service's FINEPRINT_RESOLVE_AFTER (30m).
     */
    resolveAfter: Duration.optional(),
    /** Entries whose occurrence for the same container this one replaces (a JVM OOM kill is jvm-heap, not oom-kill). */
    supersedes: z.array(z.string()).optional(),
    /**
     * The entry this one is the warning of (memory pressure before an OOM kill): its incidents are
     * filed as that entry's for the same container, so that entry's signal, if it comes, joins the
     * warning's incident and raises it to its own entry, title and severity (which must be higher).
     */
    warningOf: z.string().optional(),
    /**
     * Entries whose incidents often cause this one's (a crash loop after OOM kills): an incident of
     * this entry that begins while one of theirs is active for the same container (within the merge
     * window, and not before it began) is linked under it as its consequence.
     */
    consequenceOf: z.array(z.string()).optional(),
    /** Real lines proving the detectors; both lists may be empty only for an audit entry without detectors. */
    fixtures: z.object({ positive: z.array(Fixture), negative: z.array(Fixture) }).strict(),
  })
  .strict()
  .superRefine((entry, ctx) => {
    const detection = entry.detection ?? 'runtime';
    if (detection === 'audit') {
      if (entry.detectors.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['detectors'], message: 'an audit entry has no detectors (use detection: both when events or logs show it)' });
      }
    } else {
      if (entry.detectors.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['detectors'], message: `a ${detection} entry needs at least one detector (only detection: audit may have none)` });
      }
      if (entry.fixtures.positive.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['fixtures', 'positive'], message: 'every detector needs real lines that prove it (at least one positive fixture)' });
      }
      if (entry.fixtures.negative.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['fixtures', 'negative'], message: 'precision needs benign look-alikes (at least one negative fixture)' });
      }
    }
    if (detection !== 'runtime' && (entry.audit ?? []).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['audit'], message: `a ${detection} entry says what the audit checks (at least one audit check)` });
    }
    const seen = new Set<string>();
    entry.detectors.forEach((detector, index) => {
      if (seen.has(detector.id)) {
        ctx.addIssue({ code: 'custom', path: ['detectors', index, 'id'], message: `duplicate detector id "${detector.id}"` });
      }
      seen.add(detector.id);
    });
    entry.detectors.forEach((detector, index) => {
      const known = new Set<string>([...NOTE_PLACEHOLDERS, ...detectorMatches(detector).flatMap((m) => (m.message ? namedGroups(m.message) : []))]);
      (detector.notes ?? []).forEach((note, n) => {
        for (const name of notePlaceholders(note)) {
          if (!known.has(name)) {
            ctx.addIssue({ code: 'custom', path: ['detectors', index, 'notes', n], message: `unknown placeholder {${name}}: use ${[...known].map((k) => `{${k}}`).join(', ')}` });
          }
        }
      });
    });
    if (entry.detectors.length > 0 && entry.detectors.every((d) => d.evidenceOnly)) {
      ctx.addIssue({ code: 'custom', path: ['detectors'], message: 'at least one detector must be able to open an incident' });
    }
  });
export type KbEntry = z.infer<typeof KbEntry>;
