import { ContainerFacts } from '../event.js';
import { openKeptRecords } from './elasticsearch/kept-records.js';

export interface ElasticsearchBaselinesOptions {
  url: string;
  /** The store's index prefix: the records live in `<prefix>-baselines`. */
  indexPrefix: string;
  /** A save failed: the classifier goes on with what it has in memory. */
  onSaveError(error: unknown): void;
  requestTimeout?: number;
}

const BASELINES_KEPT = 20_000;

/** The clean-run setups of the distributed classifier, and the client to close with them. */
export interface ElasticsearchBaselines {
  loadBaselines(): ContainerFacts[];
  saveBaseline(subject: string, facts: ContainerFacts): void;
  close(): Promise<void>;
}

/**
 * The setup of each container name or compose service's last clean run, in Elasticsearch for the
 * distributed classifier, so that "what changed" survives its restarts: read once at start, then
 * written behind. One record per container name or compose service of the fleet; a classifier
 * reads back at most BASELINES_KEPT of them (some 3 KiB each in memory).
 */
export async function openElasticsearchBaselines(options: ElasticsearchBaselinesOptions): Promise<ElasticsearchBaselines> {
  const records = await openKeptRecords({ ...options, index: `${options.indexPrefix}-baselines`, what: 'the clean-run baselines', schema: ContainerFacts, max: BASELINES_KEPT });
  return {
    loadBaselines: () => records.loaded,
    saveBaseline: (subject, facts) => records.save(subject, facts),
    close: () => records.close(),
  };
}
