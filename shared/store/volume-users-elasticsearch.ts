import { VolumeUsers, type VolumeUsersPersistence } from '../volume-users.js';
import { openKeptRecords } from './elasticsearch/kept-records.js';

export interface ElasticsearchVolumeUsersOptions {
  url: string;
  /** The store's index prefix: the records live in `<prefix>-volume-users`. */
  indexPrefix: string;
  /** A save failed: the classifier goes on with what it has in memory. */
  onSaveError(error: unknown): void;
  requestTimeout?: number;
}

/** Volume users of the distributed classifier, and the client to close with it. */
export interface ElasticsearchVolumeUsers extends VolumeUsersPersistence {
  close(): Promise<void>;
}

/**
 * Which containers used each volume, in Elasticsearch for the distributed classifier: read once at
 * start, then written behind (a volume changes users seconds before the new user's first log line).
 * One record per volume and mount point of the fleet.
 */
export async function openElasticsearchVolumeUsers(options: ElasticsearchVolumeUsersOptions): Promise<ElasticsearchVolumeUsers> {
  const records = await openKeptRecords({ ...options, index: `${options.indexPrefix}-volume-users`, what: 'the volume users', schema: VolumeUsers, max: 100_000 });
  return {
    loadVolumeUsers: () => records.loaded,
    saveVolumeUsers(users) {
      const { host, source, destination } = users.current;
      records.save(`${host}\0${source}\0${destination}`, users);
    },
    close: () => records.close(),
  };
}
