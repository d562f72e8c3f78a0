import type { Receiver } from './config.js';
import { clip, JSON_HEADERS, type Sink } from './sink.js';

/**
 * Prometheus Alertmanager: every listed incident is an alert, `POST <url>/api/v2/alerts`. Labels
 * are its identity (alertname = KB id, severity, host, container, fineprint_incident), so re-posts
 * are idempotent; an open alert is re-posted at least every minute (Alertmanager expires alerts not
 * re-posted within its resolve_timeout) and a resolved one carries `endsAt` = when it was resolved.
 */
type AlertmanagerReceiver = Extract<Receiver, { type: 'alertmanager' }>;

export const alertmanagerSink: Sink<AlertmanagerReceiver> = {
  render(n) {
    return JSON.stringify(
      n.incidents.map((i) => ({
        labels: {
          alertname: i.kbId,
          severity: i.severity,
          host: i.host,
          ...(i.container && { container: i.compose?.service ?? i.container.name }),
          fineprint_incident: i.id,
        },
        annotations: {
          summary: clip(i.title, 1000),
          description: clip(i.summary, 2000),
          ...(n.kb && { fix: n.kb.fix.join('\n') }),
          ...(i.status === 'acknowledged' && i.acknowledged && { acknowledged_by: i.acknowledged.by }),
        },
        startsAt: i.firstSeen,
        ...(i.resolved && { endsAt: i.resolved.at }),
        generatorURL: i.url,
      })),
    );
  },
  request: (receiver, body) => ({ url: `${receiver.url.replace(/\/+$/, '')}/api/v2/alerts`, headers: { ...JSON_HEADERS }, body }),
};
