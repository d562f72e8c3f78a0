import { z } from 'zod';
import { commonConfig } from '../../shared/config.js';
import { Duration } from '../../shared/kb/schema.js';
import type { ApiToken } from './plugins/auth.js';

/**
 * `name=token` pairs, comma-separated, split at the first `=` (a token may contain more); a bare
 * token is named `read-<n>`, and so is a bare token ending in base64 padding (`abc...==`). Problems
 * name the entry by its position: the text may be a token, and a token is never printed.
 */
const ReadTokens = z
  .string()
  .transform((text, ctx): ApiToken[] =>
    text
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part, i) => {
        const eq = part.indexOf('=');
        const named = eq > 0 && !/^=*$/.test(part.slice(eq + 1));
        const [name, token] = named ? [part.slice(0, eq), part.slice(eq + 1)] : [`read-${i + 1}`, part];
        if (token.length < 16) {
          ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: the token must be at least 16 characters (write name=token; the token may contain "=")` });
        }
        return { name, token, scope: 'read' as const };
      }),
  );

/** Host names, comma-separated, lowercased. */
const HostNames = z.string().transform((text) =>
  text
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean),
);

/** The API's settings (see README, "Configuration"). */
export const apiConfig = {
  ...commonConfig,
  /** Address the API listens on; loopback by default (put a reverse proxy in front to expose it). */
  FINEPRINT_API_HOST: z.string().min(1).default('127.0.0.1'),
  FINEPRINT_API_PORT: z.coerce.number().int().min(0).max(65_535).default(7777),
  /**
   * Host names the API answers to besides its listen address, `localhost`, IP addresses and the
   * host of FINEPRINT_PUBLIC_URL: comma-separated, e.g. the name a reverse proxy forwards as `Host`.
   * Any other Host header gets 421 FP_HOST_NOT_ALLOWED, so a web page on another site cannot reach
   * the API by pointing its own domain name at this machine (DNS rebinding). Default none.
   */
  FINEPRINT_ALLOWED_HOSTS: HostNames.default([]),
  /** Admin bearer token; generated on first start and kept in the data dir when unset. */
  FINEPRINT_ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Notification config file (YAML or JSON: receivers and routes, README "Notifications"); unset: no notifications. */
  FINEPRINT_NOTIFY_CONFIG: z.string().min(1).optional(),
  /** Base URL people open fineprint at, for the incident links in notifications (default: the API's own address). */
  FINEPRINT_PUBLIC_URL: z.url().optional(),
  /**
   * Read-only bearer tokens (search, read; no acknowledge, resolve or silence): `name=token` pairs,
   * comma-separated, each token at least 16 characters. Default none.
   */
  FINEPRINT_READ_TOKENS: ReadTokens.default([]),
  /** An incident quiet for this long resolves itself, unless its KB entry sets `resolveAfter`. Default 30m. */
  FINEPRINT_RESOLVE_AFTER: Duration.default(1_800_000),
  /** A recurrence within this long after an incident was resolved re-opens it; later, a new incident. Default 1h. */
  FINEPRINT_REOPEN_WINDOW: Duration.default(3_600_000),
};

export type ApiConfig = z.infer<z.ZodObject<typeof apiConfig>>;
