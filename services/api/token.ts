import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiToken } from './plugins/auth.js';

/**
 * The admin token: FINEPRINT_ADMIN_TOKEN when set, else the one generated on first start and kept
 * (mode 0600) in the data dir. `generated` tells the caller to print it, once.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; generated: boolean } {
  if (configured) return { token: configured, generated: false };
  const file = join(dataDir, 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, generated: false };
  } catch {
    // first start: generate below
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = `fp_${randomBytes(24).toString('base64url')}`;
  // A new file (mode 0600 from creation) renamed over the old one: an existing file, too short to
  // keep, would otherwise keep its own mode, perhaps readable by all, with the new token in it.
  const fresh = `${file}.new`;
  rmSync(fresh, { force: true });
  writeFileSync(fresh, `${token}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(fresh, file);
  return { token, generated: true };
}

/** Every token the API accepts: the admin token (named `admin`) and the configured read-only ones. */
export function apiTokens(config: { FINEPRINT_ADMIN_TOKEN?: string | undefined; FINEPRINT_READ_TOKENS: ApiToken[]; FINEPRINT_DATA_DIR: string }): {
  tokens: ApiToken[];
  /** Set on the first start, when the admin token was generated: print it, once. */
  generatedAdminToken?: string;
} {
  const { token, generated } = resolveAdminToken(config.FINEPRINT_ADMIN_TOKEN, config.FINEPRINT_DATA_DIR);
  return { tokens: [{ name: 'admin', token, scope: 'admin' }, ...config.FINEPRINT_READ_TOKENS], ...(generated ? { generatedAdminToken: token } : {}) };
}
