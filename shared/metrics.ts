/**
 * A small Prometheus registry: counters and gauges with bounded labels (never a container id or a
 * raw error message as a label value), rendered in the text exposition format.
 */
type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
}

class Metric {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}

  private entry(labels: Labels): Series {
    const key = JSON.stringify(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels, value: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by;
  }

  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }

  get(labels: Labels = {}): number {
    return this.series.get(JSON.stringify(labels))?.value ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.series.values()) {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',');
      lines.push(`${this.name}${text ? `{${text}}` : ''} ${value}`);
    }
    return lines.join('\n');
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string): Metric {
    return this.define(name, help, 'counter');
  }

  gauge(name: string, help: string): Metric {
    return this.define(name, help, 'gauge');
  }

  private define(name: string, help: string, type: 'counter' | 'gauge'): Metric {
    const existing = this.metrics.get(name);
    if (existing) return existing;
    const metric = new Metric(name, help, type);
    this.metrics.set(name, metric);
    return metric;
  }

  render(): string {
    return `${[...this.metrics.values()].map((m) => m.render()).join('\n')}\n`;
  }
}

export type { Metric };

/** The metrics every fineprint process exposes, by stage. Names follow Vector's component spec. */
export function pipelineMetrics(registry: MetricsRegistry) {
  return {
    received: registry.counter('fineprint_events_received_total', 'Events read by a source, by source.'),
    classified: registry.counter('fineprint_records_classified_total', 'Records run through the classifier.'),
    incidents: registry.counter('fineprint_incidents_filed_total', 'Incident occurrences filed, by KB entry.'),
    errors: registry.counter('fineprint_errors_total', 'Errors, by stage and error type.'),
    discarded: registry.counter('fineprint_events_discarded_total', 'Events dropped on purpose (rate limits), by source.'),
    cursorLag: registry.gauge('fineprint_cursor_lag_seconds', 'Age of the newest event a source has read, by source.'),
    kmsgGap: registry.counter('fineprint_kmsg_records_lost_total', 'Kernel records overwritten before they were read.'),
  };
}
export type PipelineMetrics = ReturnType<typeof pipelineMetrics>;
