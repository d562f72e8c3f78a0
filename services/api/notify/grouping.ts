import type { Incident, IncidentLink } from '../../../shared/incident.js';
import type { KbEntry } from '../../../shared/kb/schema.js';
import { notifiedState, type FlushResult, type GroupMember, type NotificationEvent, type NotifyGroup } from '../../../shared/notification.js';
import { activeSilence, type Silence } from '../../../shared/silence.js';
import { groupValue, type CompiledRoute, type Routable } from './config.js';

/**
 * Alertmanager's grouping, per receiver: incidents of one group (same route, same group_by values)
 * are told together. A group's first notification waits group_wait to collect its siblings, later
 * changes wait group_interval, and an open group is told again every repeat_interval. Silenced
 * incidents are recorded as `silenced`, never sent. A consequence whose cause is unresolved is
 * inhibited (Alertmanager's inhibit_rules): neither sent nor recorded as told, its cause's
 * notifications name it, and it is told as any change once the cause resolves.
 */

/** Incidents a notification lists at most; the rest are counted in `omitted`. */
const MAX_LISTED = 100;

/** An incident as a notification lists it. */
export interface NotifiedIncident {
  id: string;
  kbId: string;
  title: string;
  severity: Incident['severity'];
  status: Incident['status'];
  host: string;
  container: Incident['container'];
  compose: Incident['compose'];
  /** Occurrences so far. */
  count: number;
  reopened: number;
  firstSeen: string;
  lastSeen: string;
  /** The raw text of the latest evidence. */
  message: string;
  /** What happened, as a sentence: the text receivers show. */
  summary: string;
  acknowledged: Incident['acknowledged'];
  resolved: Incident['resolved'];
  /** The incident in fineprint's UI. */
  url: string;
  /** Whether this notification is about a change of this incident (else listed as still open). */
  changed: boolean;
  /** The incidents linked under this one (their `causedBy`): told here, not on their own while this one is unresolved. */
  consequences: Array<IncidentLink & { url: string }>;
}

/**
 * One notification about one group: what the webhook receiver gets as its JSON body, and what the
 * other sinks render from (docs/notifications.md).
 */
export interface Notification {
  version: 1;
  event: NotificationEvent;
  receiver: string;
  group: {
    /** group_by label values, e.g. {"kb": "crash-loop"}. */
    labels: Record<string, string>;
    /** Id of the incident that opened this episode of the group. */
    episode: string;
  };
  /** One line for people, e.g. "3 x Container restarting in a loop (crash loop) on web-1". */
  title: string;
  counts: { open: number; acknowledged: number; resolved: number };
  /** Changed incidents first, then the still open ones; at most MAX_LISTED. */
  incidents: NotifiedIncident[];
  /** Incidents of the group left out of `incidents`. */
  omitted: number;
  /** The KB entry of the group's first incident: why it happens, how to fix it. */
  kb: { id: string; title: string; why: string; fix: string[] } | null;
  /** When fineprint queued this notification (ISO 8601). */
  createdAt: string;
}

/** The group key of an incident on a route: its group_by values. */
export function groupKey(route: CompiledRoute, incident: Routable): string {
  return JSON.stringify(Object.fromEntries(route.group_by.map((label) => [label, groupValue(label, incident)])));
}

export interface FlushContext {
  receiverType: string;
  /** The group's repeat interval for this receiver (ms). */
  repeatMs: number;
  /** The group's group_interval (ms): how soon a group with inhibited members looks at their causes again. */
  intervalMs: number;
  silences: readonly Silence[];
  /** Unresolved members whose cause is unresolved: inhibited. */
  inhibited: ReadonlySet<string>;
  /** The consequences of a member, as the store links them now. */
  consequences: (id: string) => readonly IncidentLink[];
  kb: (kbId: string) => KbEntry | undefined;
  incidentUrl: (id: string) => string;
  /** The sink's request body for a notification. */
  render: (notification: Notification) => string;
  now: number;
}

function eventOf(listed: readonly GroupMember[], changed: readonly GroupMember[], firstOfEpisode: boolean): NotificationEvent {
  const open = listed.filter((m) => m.incident.status !== 'resolved');
  if (open.length === 0) return 'resolve';
  if (firstOfEpisode) return 'trigger';
  const news = changed.some((m) => m.incident.status === 'open');
  if (!news && open.every((m) => m.incident.status === 'acknowledged') && changed.some((m) => m.incident.status === 'acknowledged')) return 'acknowledge';
  return 'update';
}

function titleOf(members: readonly GroupMember[], entry: KbEntry | undefined): string {
  const first = members[0]!.incident;
  const what = entry?.title ?? first.title;
  if (members.length === 1) {
    const where = first.container ? `${first.container.name} on ${first.host}` : first.host;
    return `${what}: ${where}`;
  }
  const hosts = new Set(members.map((m) => m.incident.host));
  return `${members.length} x ${what} on ${hosts.size === 1 ? first.host : `${hosts.size} hosts`}`;
}

function notifiedIncident(m: GroupMember, changed: boolean, ctx: FlushContext): NotifiedIncident {
  const i = m.incident;
  return {
    id: i.id,
    kbId: i.kbId,
    title: i.title,
    severity: i.severity,
    status: i.status,
    host: i.host,
    container: i.container,
    compose: i.compose,
    count: i.count,
    reopened: i.reopened,
    firstSeen: i.firstSeen,
    lastSeen: i.lastSeen,
    message: i.message,
    // Incidents queued before summaries existed have none: their message stands in.
    summary: i.summary ?? i.message,
    acknowledged: i.acknowledged,
    resolved: i.resolved,
    url: ctx.incidentUrl(i.id),
    changed,
    consequences: ctx.consequences(i.id).map((c) => ({ ...c, url: ctx.incidentUrl(c.id) })),
  };
}

/** Decides what a due group's flush sends, records as silenced, and when the group flushes next. */
export function flushGroup(group: NotifyGroup, members: readonly GroupMember[], ctx: FlushContext): FlushResult {
  const { now } = ctx;
  const silenced = new Set(members.filter((m) => activeSilence(ctx.silences, m.incident, now) !== undefined).map((m) => m.incident.id));
  // An inhibited member is left as last told: once its cause resolves, its change is news.
  const changed = members.filter((m) => !ctx.inhibited.has(m.incident.id) && m.notified !== notifiedState(m.incident));
  // Resolved before anyone was told: nothing to say.
  const visible = changed.filter((m) => !(m.notified === null && m.incident.status === 'resolved'));
  const sendChanged = visible.filter((m) => !silenced.has(m.incident.id));
  const silencedChanged = visible.filter((m) => silenced.has(m.incident.id));
  const openVisible = members.filter((m) => m.incident.status !== 'resolved' && !silenced.has(m.incident.id) && !ctx.inhibited.has(m.incident.id));
  const repeatDue = sendChanged.length === 0 && openVisible.length > 0 && (group.lastSentAt === null || now >= group.lastSentAt + ctx.repeatMs);

  const result: FlushResult = {
    deliveries: [],
    notified: new Map(changed.map((m) => [m.incident.id, notifiedState(m.incident)])),
    remove: members.filter((m) => m.incident.status === 'resolved').map((m) => m.incident.id),
    nextFlushAt: null,
    sent: false,
  };
  if (sendChanged.length > 0 || repeatDue) {
    const changedIds = new Set(sendChanged.map((m) => m.incident.id));
    const listed = [...sendChanged, ...openVisible.filter((m) => !changedIds.has(m.incident.id))];
    const event = eventOf(listed, sendChanged, group.firstSentAt === null);
    const entry = ctx.kb(listed[0]!.incident.kbId);
    const notification: Notification = {
      version: 1,
      event,
      receiver: group.receiver,
      group: { labels: JSON.parse(group.key) as Record<string, string>, episode: group.episode },
      title: titleOf(listed, entry),
      counts: {
        open: listed.filter((m) => m.incident.status === 'open').length,
        acknowledged: listed.filter((m) => m.incident.status === 'acknowledged').length,
        resolved: listed.filter((m) => m.incident.status === 'resolved').length,
      },
      incidents: listed.slice(0, MAX_LISTED).map((m) => notifiedIncident(m, changedIds.has(m.incident.id), ctx)),
      omitted: Math.max(0, listed.length - MAX_LISTED),
      kb: entry ? { id: entry.id, title: entry.title, why: entry.why, fix: entry.fix } : null,
      createdAt: new Date(now).toISOString(),
    };
    result.deliveries.push({ event, type: ctx.receiverType, body: ctx.render(notification), state: 'pending', incidentIds: listed.map((m) => m.incident.id) });
    result.sent = true;
  }
  if (silencedChanged.length > 0) {
    result.deliveries.push({
      event: eventOf(silencedChanged, silencedChanged, group.firstSentAt === null),
      type: ctx.receiverType,
      body: '',
      state: 'silenced',
      incidentIds: silencedChanged.map((m) => m.incident.id),
    });
  }
  if (result.remove.length < members.length) result.nextFlushAt = (result.sent ? now : (group.lastSentAt ?? now)) + ctx.repeatMs;
  if (result.nextFlushAt !== null && result.nextFlushAt <= now) result.nextFlushAt = now + ctx.repeatMs;
  // Like Alertmanager's group ticks: an inhibited member is told at the first one after its cause resolves.
  if (members.some((m) => ctx.inhibited.has(m.incident.id))) result.nextFlushAt = Math.min(result.nextFlushAt ?? Infinity, now + ctx.intervalMs);
  return result;
}
