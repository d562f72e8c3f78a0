import { createHash } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { FineprintError } from '../errors.js';
import { VolumeUsers, type VolumeUsersPersistence } from '../volume-users.js';

/** Records kept at most: one per volume and mount point of the fleet. */
const MAX_RECORDS = 10_000;

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
 */
export async function openElasticsearchVolumeUsers(options: ElasticsearchVolumeUsersOptions): Promise<ElasticsearchVolumeUsers> {
  const client = new Client({ node: options.url, requestTimeout: options.requestTimeout ?? 30_000, maxRetries: 2 });
  const index = `${options.indexPrefix}-volume-users`;
  let loaded: VolumeUsers[];
  try {
    const exists = await client.indices.exists({ index });
    if (!exists) {
      await client.indices
        .create({ index, mappings: { dynamic: 'strict', properties: { body: { type: 'object', enabled: false } } } })
        .catch((error: unknown) => {
          // Another classifier created it first.
          if (!/resource_already_exists_exception/.test(String((error as { message?: string }).message))) throw error;
        });
    }
    const res = await client.search<{ body: unknown }>({ index, size: MAX_RECORDS, query: { match_all: {} } });
    loaded = res.hits.hits.flatMap((hit) => {
      const parsed = VolumeUsers.safeParse(hit._source?.body);
      return parsed.success ? [parsed.data] : [];
    });
  } catch (error) {
    await client.close();
    throw new FineprintError('FP_STORE_UNAVAILABLE', `cannot read the volume users from ${index}: ${(error as Error).message}`);
  }
  return {
    loadVolumeUsers: () => loaded,
    saveVolumeUsers(users) {
      const { host, source, destination } = users.current;
      const id = createHash('sha256').update(`${host}\0${source}\0${destination}`).digest('base64url');
      client.index({ index, id, document: { body: users } }).catch(options.onSaveError);
    },
    close: () => client.close(),
  };
}
