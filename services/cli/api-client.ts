// The REST API as the CLI's client commands (incidents, silences, whoami) call it: FINEPRINT_URL and
// FINEPRINT_TOKEN, else the admin token a fineprint on this host keeps in its data directory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { commonConfig, loadConfig } from '../../shared/config.js';
import { FineprintError } from '../../shared/errors.js';

/** Settings of the commands that call a running fineprint's API (docs/configuration.md). */
export const clientConfig = {
  ...commonConfig,
  FINEPRINT_URL: z.url().default('http://127.0.0.1:7777').describe("The running fineprint's API (by default the all-in-one on this host)."),
  FINEPRINT_TOKEN: z
    .string()
    .min(16)
    .optional()
    .describe('A token for that API: a read token lists and shows; acknowledging, resolving and silencing need the admin token.')
    .meta({ defaultText: 'the admin token in `FINEPRINT_DATA_DIR`' }),
};

/** The admin token a fineprint on this host generated into its data directory. */
export function adminTokenIn(dataDir: string): string {
  const file = join(dataDir, 'admin-token');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new FineprintError('FP_CONFIG_INVALID', `no FINEPRINT_TOKEN and no admin token in ${file}: set FINEPRINT_TOKEN (or FINEPRINT_DATA_DIR to the running fineprint's data directory)`);
  }
}

/** The API refused a request: its status, code and sentence (exit 1: the request, not the setup, was wrong). */
export class ApiRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiRefused';
  }
}

export interface ApiClient {
  url: string;
  /** Calls the API; resolves with the JSON body (undefined for 204), throws ApiRefused for an error answer. */
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

export function apiClient(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const config = loadConfig(clientConfig, env);
  const url = config.FINEPRINT_URL.replace(/\/+$/, '');
  let token: string | undefined = config.FINEPRINT_TOKEN;
  return {
    url,
    async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      token ??= adminTokenIn(config.FINEPRINT_DATA_DIR);
      let res: Response;
      try {
        res = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
        throw new FineprintError('FP_CONFIG_INVALID', `no fineprint answers at ${url} (${cause}): start one with \`fineprint start\` or set FINEPRINT_URL`);
      }
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ApiRefused(res.status, 'FP_INTERNAL', `${url} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
      }
      if (!res.ok) {
        const error = json as { code?: string; message?: string };
        throw new ApiRefused(res.status, error.code ?? `HTTP_${res.status}`, error.message ?? text.slice(0, 200));
      }
      return json as T;
    },
  };
}
