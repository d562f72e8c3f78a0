import { severityRank, type Severity } from '../../../shared/kb/schema.js';
import type { Receiver } from './config.js';
import type { Notification } from './grouping.js';
import { clip, JSON_HEADERS, type Sink } from './sink.js';

/**
 * PagerDuty Events API v2: one event per notification. `dedup_key` is the group's episode, the id
 * of the incident that opened it (for a group of one, the incident's id), so a repeated trigger
 * updates the same PagerDuty alert and acknowledge/resolve close it.
 */
type PagerDutyReceiver = Extract<Receiver, { type: 'pagerduty' }>;

/** PagerDuty knows critical, error, warning and info. */
const SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

const ACTION: Record<Notification['event'], 'trigger' | 'acknowledge' | 'resolve'> = {
  trigger: 'trigger',
  update: 'trigger',
  acknowledge: 'acknowledge',
  resolve: 'resolve',
};

export const pagerdutySink: Sink<PagerDutyReceiver> = {
  render(n, receiver) {
    const action = ACTION[n.event];
    const base = { routing_key: receiver.routing_key, event_action: action, dedup_key: n.group.episode };
    if (action !== 'trigger') return JSON.stringify(base);
    const first = n.incidents[0]!;
    const worst = n.incidents.reduce((s, i) => (severityRank(i.severity) > severityRank(s) ? i.severity : s), first.severity);
    return JSON.stringify({
      ...base,
      payload: {
        summary: clip(n.title, 1024),
        source: first.host,
        severity: SEVERITY[worst],
        timestamp: first.firstSeen,
        ...(first.container && { component: first.container.name }),
        group: first.kbId,
        class: first.kbId,
        custom_details: {
          open: n.counts.open,
          acknowledged: n.counts.acknowledged,
          incidents: n.incidents.slice(0, 20).map((i) => ({ id: i.id, container: i.container?.name ?? null, host: i.host, status: i.status, count: i.count, summary: clip(i.summary, 300), caused: i.consequences.slice(0, 5).map((c) => c.title) })),
          ...(n.kb && { why: n.kb.why, fix: n.kb.fix }),
        },
      },
      client: 'fineprint',
      client_url: first.url,
      links: n.incidents.slice(0, 5).map((i) => ({ href: i.url, text: clip(`${i.title} (${i.container?.name ?? i.host})`, 200) })),
    });
  },
  request: (receiver, body) => ({ url: receiver.url, headers: { ...JSON_HEADERS }, body }),
};
