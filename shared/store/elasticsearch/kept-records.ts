import { createHash } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import type { z } from 'zod';
import { FineprintError } from '../../errors.js';

/*
 * What the distributed classifier remembers across restarts (which containers used each volume, the
 * setups of clean runs), in an index of its own: read whole at start, then written behind, one
 * document a key. The embedded store keeps the same records in SQLite tables.
 */

export interface KeptRecordsOptions<T> {
  url: string;
  /** The index, `<store prefix>-<what>`. */
  index: string;
  /** What the records are, for messages: "the volume users". */
  what: string;
  /** Records read back; one that does not parse (written by another version) is skipped. */
  schema: z.ZodType<T>;
  /** Records read at start at most: the rest are forgotten (and rewritten when they change). */
  max: number;
  /** A save failed: the classifier goes on with what it has in memory. */
  onSaveError(error: unknown): void;
  requestTimeout?: number;
}

export interface KeptRecords<T> {
  /** Every record saved so far (up to `max`), read at start. */
  loaded: T[];
  /** Replaces the record of `key`; written behind, a failure goes to `onSaveError`. */
  save(key: string, record: T): void;
  close(): Promise<void>;
}

export async function openKeptRecords<T>(options: KeptRecordsOptions<T>): Promise<KeptRecords<T>> {
  const client = new Client({ node: options.url, requestTimeout: options.requestTimeout ?? 30_000, maxRetries: 2 });
  const { index } = options;
  const loaded: T[] = [];
  try {
    if (!(await client.indices.exists({ index }))) {
      await client.indices
        .create({ index, mappings: { dynamic: 'strict', properties: { body: { type: 'object', enabled: false } } } })
        .catch((error: unknown) => {
          // Another classifier created it first.
          if (!/resource_already_exists_exception/.test(String((error as { message?: string }).message))) throw error;
        });
    }
    // A scroll: a fleet keeps more records than one search may return (index.max_result_window).
    for await (const source of client.helpers.scrollDocuments<{ body: unknown }>({ index, size: 1000, sort: ['_doc'], query: { match_all: {} } })) {
      const parsed = options.schema.safeParse(source?.body);
      if (parsed.success) loaded.push(parsed.data);
      if (loaded.length >= options.max) break;
    }
  } catch (error) {
    await client.close();
    throw new FineprintError('FP_STORE_UNAVAILABLE', `cannot read ${options.what} from ${index}: ${(error as Error).message}`);
  }
  return {
    loaded,
    save(key, record) {
      const id = createHash('sha256').update(key).digest('base64url');
      client.index({ index, id, document: { body: record } }).catch(options.onSaveError);
    },
    close: () => client.close(),
  };
}
