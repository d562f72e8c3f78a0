import type Docker from 'dockerode';
import type { Logger } from '../../../shared/log.js';
import type { PipelineMetrics } from '../../../shared/metrics.js';
import type { CursorStore, RecordSink } from '../../../shared/transport.js';

/** What every source is given: where to write, where to keep its place, how to report. */
export interface SourceContext {
  /** Host name stamped on every event (FINEPRINT_HOST_NAME, default os.hostname()). */
  host: string;
  docker: Docker;
  sink: RecordSink;
  cursors: CursorStore;
  log: Logger;
  metrics: PipelineMetrics;
}

/** A source reads one thing (Docker events, /dev/kmsg, container logs, host probes). */
export interface Source {
  readonly name: string;
  start(): Promise<void>;
  /** Stops reading and flushes: every record read before stop() resolves has been sent. */
  stop(): Promise<void>;
}
