import type { Client, estypes } from '@elastic/elasticsearch';
import { FineprintError } from '../../errors.js';
import type { StoreNames } from './mappings.js';

/* Requests of the Elasticsearch store: its client and names, and how failures are reported. */

/** What every part of the store works with. */
export interface StoreContext {
  client: Client;
  names: StoreNames;
  /** Options of each request. */
  timeout: { requestTimeout: number };
}

export function iso(ts: number): string {
  return new Date(ts).toISOString();
}

/** A failed request as FP_STORE_UNAVAILABLE, with Elasticsearch's reason. */
export function unavailable(what: string, error: unknown): FineprintError {
  if (error instanceof FineprintError) return error;
  const reason = (error as { meta?: { body?: { error?: { reason?: string } } } }).meta?.body?.error?.reason;
  return new FineprintError('FP_STORE_UNAVAILABLE', `${what} failed: ${reason ?? (error as Error).message}`, undefined, { cause: error });
}

/** Throws on the first failed item of a bulk; deleting what is gone already is no failure. */
export function throwOnErrors(what: string, res: estypes.BulkResponse): void {
  if (!res.errors) return;
  for (const item of res.items) {
    const [action, result] = Object.entries(item)[0] ?? [];
    if (result?.error && !(action === 'delete' && result.status === 404)) {
      throw new FineprintError('FP_STORE_UNAVAILABLE', `${what}: ${action} ${result._id} failed: ${result.error.type}: ${result.error.reason ?? ''}`);
    }
  }
}

/** Makes what was written to these indices visible to search. */
export async function refresh({ client, timeout }: StoreContext, indices: Set<string>): Promise<void> {
  if (indices.size === 0) return;
  await client.indices.refresh({ index: [...indices], ignore_unavailable: true }, timeout);
}

