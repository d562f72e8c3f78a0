import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every fineprint process's Prometheus metrics, on prom-client. Labels are bounded by construction:
 * each metric declares its label names here, and no label ever carries a container id, a message
 * or an error text (prom-client rejects a label that was not declared).
 */
export class MetricsRegistry {
  readonly prometheus = new Registry();

  /**
   * @param options.process also export the standard process and Node.js metrics (RSS, CPU,
   *   event-loop lag, GC, handles): on for every long-running role, off for throwaway registries.
   */
  constructor(options: { process?: boolean } = {}) {
    if (options.process) collectDefaultMetrics({ register: this.prometheus });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.existing<Counter>(name) ?? new Counter({ name, help, labelNames, registers: [this.prometheus] });
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.existing<Gauge>(name) ?? new Gauge({ name, help, labelNames, registers: [this.prometheus] });
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): Histogram {
    return this.existing<Histogram>(name) ?? new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [this.prometheus] });
  }

  /** The text exposition format, for `GET /metrics`. */
  render(): Promise<string> {
    return this.prometheus.metrics();
  }

  get contentType(): string {
    return this.prometheus.contentType;
  }

  private existing<M>(name: string): M | undefined {
    return this.prometheus.getSingleMetric(name) as M | undefined;
  }
}

/** The current value of one series of a counter or gauge (0 when it was never touched). */
export async function metricValue(metric: Counter | Gauge, labels: Record<string, string> = {}): Promise<number> {
  const wanted = Object.entries(labels);
  const { values } = await metric.get();
  const series = values.find(
    (v) => Object.keys(v.labels).length === wanted.length && wanted.every(([k, value]) => v.labels[k] === value),
  );
  return series?.value ?? 0;
}

/** Seconds, from a few milliseconds (an all-in-one filing an incident) to a minute (a retried delivery). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The metrics every fineprint process exposes, by stage. Names follow Vector's component spec. */
export function pipelineMetrics(registry: MetricsRegistry) {
  return {
    received: registry.counter('fineprint_events_received_total', 'Events read by a source, by source.', ['source']),
    sourceUp: registry.gauge('fineprint_source_up', 'Whether a source is reading (1) or failing to (0), by source.', ['source']),
    classified: registry.counter('fineprint_records_classified_total', 'Records run through the classifier.'),
    incidents: registry.counter('fineprint_incidents_filed_total', 'Incident occurrences filed, by KB entry and severity.', ['kb', 'severity']),
    errors: registry.counter('fineprint_errors_total', 'Errors, by stage and error type.', ['stage', 'error_type']),
    discarded: registry.counter('fineprint_events_discarded_total', 'Events dropped on purpose (rate limits), by source and reason.', ['source', 'reason']),
    cursorLag: registry.gauge('fineprint_cursor_lag_seconds', 'Age of the newest event a source has read, by source.', ['source']),
    kmsgGap: registry.counter('fineprint_kmsg_records_lost_total', 'Kernel records overwritten before they were read.'),
    eventToIncident: registry.histogram('fineprint_event_to_incident_seconds', 'From the time of an event to its incident written in the store.', LATENCY_BUCKETS),
    storeWrite: registry.histogram('fineprint_store_write_seconds', 'Time to apply one batch of incident updates to the store.', LATENCY_BUCKETS),
  };
}
export type PipelineMetrics = ReturnType<typeof pipelineMetrics>;

/** The API's own metrics: notification delivery and search. */
export function apiMetrics(registry: MetricsRegistry) {
  return {
    sent: registry.counter('fineprint_notifications_sent_total', 'Notifications a receiver accepted (2xx), by receiver type.', ['receiver_type']),
    failed: registry.counter(
      'fineprint_notifications_failed_total',
      'Failed delivery attempts, by receiver type and reason (http_4xx, http_5xx, timeout, network).',
      ['receiver_type', 'reason'],
    ),
    pending: registry.gauge('fineprint_notifications_pending', 'Notifications waiting in the outbox (queued or retrying).'),
    lease: registry.gauge('fineprint_notifier_lease_held', 'Whether this process holds the delivery lease (1): the one replica that flushes groups and delivers.'),
    receivers: registry.gauge('fineprint_notify_receivers', 'Receivers configured (FINEPRINT_NOTIFY_CONFIG); with none, nothing is notified and no process takes the delivery lease.'),
    delivery: registry.histogram(
      'fineprint_notification_delivery_seconds',
      'From a notification queued in the outbox to a receiver accepting it, by receiver type.',
      LATENCY_BUCKETS,
      ['receiver_type'],
    ),
    search: registry.histogram('fineprint_search_seconds', 'Time to answer one incident search (page, facets and histogram).', LATENCY_BUCKETS),
  };
}
export type ApiMetrics = ReturnType<typeof apiMetrics>;
