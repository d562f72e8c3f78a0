import { z } from 'zod';
import { commonConfig } from '../../shared/config.js';
import { Duration } from '../../shared/kb/schema.js';
import { DEFAULT_EVIDENCE_KEPT } from '../../shared/store/incident-rules.js';
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

/** The API's settings (docs/configuration.md). */
export const apiConfig = {
  ...commonConfig,
  FINEPRINT_API_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Address the API listens on; loopback by default (put a TLS reverse proxy in front to expose it).'),
  FINEPRINT_API_PORT: z.coerce.number().int().min(0).max(65_535).default(7777).describe('API port (`0` picks a free one).'),
  FINEPRINT_ALLOWED_HOSTS: HostNames.default([]).describe(
    'Host names the API answers to besides its listen address, `localhost`, IP addresses and the host of `FINEPRINT_PUBLIC_URL`: ' +
      'comma-separated, e.g. the `Host` a reverse proxy forwards. Any other `Host` gets 421 `FP_HOST_NOT_ALLOWED`, so a web page ' +
      'on another site cannot reach the API by pointing its own domain name at this machine (DNS rebinding).',
  ),
  FINEPRINT_ADMIN_TOKEN: z
    .string()
    .min(16, 'at least 16 characters')
    .optional()
    .describe('Admin bearer token (may do everything).')
    .meta({ defaultText: 'generated on first start, kept in the data dir (`admin-token`), printed once' }),
  FINEPRINT_NOTIFY_CONFIG: z
    .string()
    .min(1)
    .optional()
    .describe('Notification config file (YAML or JSON): receivers and routes, see [Notifications](notifications.md).')
    .meta({ defaultText: 'unset: no notifications' }),
  FINEPRINT_PUBLIC_URL: z
    .url()
    .optional()
    .describe('Base URL people open fineprint at, for the incident links in notifications (`<url>/#/incidents/<id>`), e.g. `https://fineprint.example.com`.')
    .meta({ defaultText: "the API's own address" }),
  FINEPRINT_READ_TOKENS: ReadTokens.default([]).describe(
    'Read-only bearer tokens (search and read; no acknowledge, resolve or silence): `name=token` pairs, comma-separated, each token ' +
      'at least 16 characters (the name ends at the first `=`, the token may contain more).',
  ),
  FINEPRINT_RESOLVE_AFTER: Duration.prefault('30m').describe(
    "An incident quiet this long resolves itself (a KB entry's `resolveAfter` wins).",
  ),
  FINEPRINT_REOPEN_WINDOW: Duration.prefault('1h').describe(
    'A recurrence this soon after an incident was resolved re-opens it; later, it is a new incident.',
  ),
  FINEPRINT_EVIDENCE_KEPT: z.coerce
    .number()
    .int()
    .min(1)
    .max(50)
    .default(DEFAULT_EVIDENCE_KEPT)
    .describe(
      "Pieces of evidence kept at each end of an incident: its first N and its last N (at most 50, so the page lists them all). The ones between are counted in the incident's `evidenceCount` and not kept, so a log flood costs a bounded number of rows.",
    ),
  FINEPRINT_RETENTION: Duration.pipe(z.number().min(3_600_000, 'at least 1h'))
    .prefault('2160h')
    .describe(
      'Resolved incidents are deleted, with their evidence, this long after they were resolved (default 90 days); silences this long after they ended. Open and acknowledged incidents are kept however old. Checked at start and every hour.',
    ),
};

export type ApiConfig = z.infer<z.ZodObject<typeof apiConfig>>;
