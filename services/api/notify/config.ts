import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FineprintError } from '../../../shared/errors.js';
import type { Incident } from '../../../shared/incident.js';
import { Duration, Severity, severityRank } from '../../../shared/kb/schema.js';
import { compileGlob } from '../../../shared/glob.js';
import { formatIssues } from '../../../shared/zod-issues.js';

/**
 * The notification config file (`FINEPRINT_NOTIFY_CONFIG`, YAML or JSON): receivers (where
 * notifications go) and routes (which incidents go where, grouped how). Keys are snake_case like
 * Alertmanager's, so a routing tree reads the same in both.
 */

/** Delivery settings every receiver type shares. */
const Delivery = {
  /** Per-request timeout (default 10s): a hanging receiver is retried, never waited on forever. */
  timeout: Duration.default(10_000),
  /** At most this many requests per minute to this receiver (default 30); the rest wait in the outbox. */
  rate_limit: z.number().int().min(1).max(10_000).default(30),
  /** Retries with exponential backoff and full jitter. */
  retry: z
    .object({
      /** First retry delay (default 1s), doubled on each failed attempt. */
      initial: Duration.default(1000),
      /** Longest delay between two attempts (default 5m). */
      max: Duration.default(300_000),
      /** A notification still failing this long after it was queued is given up as `failed` (default 24h). */
      give_up_after: Duration.default(86_400_000),
    })
    .strict()
    .default({ initial: 1000, max: 300_000, give_up_after: 86_400_000 }),
};

const Name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)');

export const Receiver = z.discriminatedUnion('type', [
  /** Slack incoming webhook: Block Kit messages. */
  z.object({ type: z.literal('slack'), name: Name, url: z.url(), ...Delivery }).strict(),
  /** Any HTTP endpoint: a documented JSON body, signed with HMAC-SHA256 over `<timestamp>.<body>`. */
  z.object({ type: z.literal('webhook'), name: Name, url: z.url(), secret: z.string().min(16, 'at least 16 characters'), ...Delivery }).strict(),
  /** PagerDuty Events API v2. */
  z
    .object({
      type: z.literal('pagerduty'),
      name: Name,
      /** The 32-character integration key of an Events API v2 integration. */
      routing_key: z.string().length(32, 'the 32-character Events API v2 integration key'),
      url: z.url().default('https://events.pagerduty.com/v2/enqueue'),
      ...Delivery,
    })
    .strict(),
  /** Prometheus Alertmanager: base URL, alerts go to `POST <url>/api/v2/alerts`. */
  z.object({ type: z.literal('alertmanager'), name: Name, url: z.url(), ...Delivery }).strict(),
]);
export type Receiver = z.infer<typeof Receiver>;
export type ReceiverType = Receiver['type'];

/** A glob: `*` any run of characters, `?` one character. */
const Glob = z.string().min(1).max(256);

/** What an incident can be grouped by. */
export const GroupLabel = z.enum(['kb', 'host', 'container', 'severity']);
export type GroupLabel = z.infer<typeof GroupLabel>;

/** What a route notifies: incidents, or the audit's risks as one daily digest per host. */
export const RouteKind = z.enum(['incident', 'risk']);

export const Route = z
  .object({
    /**
     * `incident` (default): incidents as they change. `risk`: the current risks (the audit's findings)
     * as one digest per host a day, filtered by `severity`, `kb`, `tag` and `host` (grouping and
     * intervals do not apply); risks are never notified without such a route. Slack and webhook only.
     */
    kind: RouteKind.default('incident'),
    /** Receivers (by name) that get this route's notifications. */
    receivers: z.array(Name).min(1),
    /** A severity: that one or higher; a list: exactly those. */
    severity: z.union([Severity, z.array(Severity).min(1)]).optional(),
    /** KB entry id (glob), e.g. `oom-kill` or `jvm-*`. */
    kb: Glob.optional(),
    /** A tag of the KB entry (its `tags`), e.g. `memory`. */
    tag: z.string().min(1).optional(),
    /** Host name (glob). */
    host: Glob.optional(),
    /** Incidents with equal values of these are one group, notified together (default [kb]). */
    group_by: z.array(GroupLabel).default(['kb']),
    /** Wait this long after a group's first incident before notifying, to collect its siblings (default 200ms for critical, else 30s). */
    group_wait: Duration.optional(),
    /** Wait at least this long between notifications about one group (default 5m). */
    group_interval: Duration.default(300_000),
    /** Re-send a group that is still open this often (default 4h; Alertmanager receivers: at most 1m, so alerts never expire). */
    repeat_interval: Duration.default(14_400_000),
    /** Also try the routes after this one (default false: the first matching route wins). */
    continue: z.boolean().default(false),
  })
  .strict();
export type Route = z.infer<typeof Route>;

export const NotifyConfig = z
  .object({
    receivers: z.array(Receiver).default([]),
    /** Matched in order; an incident no route matches is not notified. */
    routes: z.array(Route).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    config.receivers.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `duplicate receiver name "${r.name}"` });
      names.add(r.name);
    });
    const types = new Map(config.receivers.map((r) => [r.name, r.type]));
    config.routes.forEach((route, i) =>
      route.receivers.forEach((name, j) => {
        if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'receivers', j], message: `no receiver named "${name}"` });
        const type = types.get(name);
        if (route.kind === 'risk' && type !== undefined && type !== 'slack' && type !== 'webhook') {
          ctx.addIssue({ code: 'custom', path: ['routes', i, 'receivers', j], message: `a risk digest goes to slack or webhook receivers, not ${type} ("${name}")` });
        }
      }),
    );
  });
export type NotifyConfig = z.infer<typeof NotifyConfig>;

/** Group wait when a route sets none: critical entries (an OOM kill) must page within a second. */
export const DEFAULT_GROUP_WAIT_MS = { critical: 200, other: 30_000 } as const;
/** Alertmanager drops an alert not re-posted within its resolve_timeout (5m by default). */
export const ALERTMANAGER_REPOST_MS = 60_000;

/** Reads and validates the file; a bad one stops start-up naming the file and the field. */
export function loadNotifyConfig(path: string | undefined): NotifyConfig {
  if (path === undefined) return NotifyConfig.parse({});
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FineprintError('FP_CONFIG_INVALID', `FINEPRINT_NOTIFY_CONFIG=${path}: ${(error as Error).message}`);
  }
  const result = NotifyConfig.safeParse(data ?? {});
  if (!result.success) {
    const problems = formatIssues(result.error.issues, '(file)');
    throw new FineprintError('FP_CONFIG_INVALID', `FINEPRINT_NOTIFY_CONFIG=${path}: invalid notification config:\n  ${problems.join('\n  ')}`, { problems });
  }
  return result.data;
}


/** The incident fields routes look at, plus its KB entry's tags. */
export type Routable = Pick<Incident, 'kbId' | 'severity' | 'host' | 'container' | 'compose'>;

/** A route compiled once: globs to matchers. */
export interface CompiledRoute extends Route {
  index: number;
  matches(incident: Routable, tags: readonly string[]): boolean;
}

export function compileRoutes(routes: readonly Route[]): CompiledRoute[] {
  return routes.map((route, index) => {
    const kb = route.kb === undefined ? undefined : compileGlob(route.kb);
    const host = route.host === undefined ? undefined : compileGlob(route.host);
    const severity = route.severity;
    const severityOk = (s: Incident['severity']): boolean =>
      severity === undefined || (Array.isArray(severity) ? severity.includes(s) : severityRank(s) >= severityRank(severity));
    return {
      ...route,
      index,
      matches: (incident, tags) =>
        severityOk(incident.severity) &&
        (kb === undefined || kb(incident.kbId)) &&
        (host === undefined || host(incident.host)) &&
        (route.tag === undefined || tags.includes(route.tag)),
    };
  });
}

/** The routes an incident takes, in order: the first match, and the next ones while `continue` is set. Risk routes take no incident. */
export function routesFor(routes: readonly CompiledRoute[], incident: Routable, tags: readonly string[]): CompiledRoute[] {
  const taken: CompiledRoute[] = [];
  for (const route of routes) {
    if (route.kind !== 'incident' || !route.matches(incident, tags)) continue;
    taken.push(route);
    if (!route.continue) break;
  }
  return taken;
}

/** The value of a group label for an incident. */
export function groupValue(label: GroupLabel, incident: Routable): string {
  switch (label) {
    case 'kb':
      return incident.kbId;
    case 'host':
      return incident.host;
    case 'severity':
      return incident.severity;
    case 'container':
      return incident.compose?.service ?? incident.container?.name ?? '';
  }
}
