import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FineprintError } from '../../../shared/errors.js';
import { ErrorBody } from '../plugins/errors.js';
import { openSession, sessionCookies } from '../session.js';

const Scope = z.enum(['read', 'admin']).describe('`read`: search and read; `admin`: also acknowledge, resolve and silence.');

const Whoami = z.object({
  /** The token's name, recorded as `by` on what it does. */
  name: z.string(),
  scope: Scope,
  /** `token`: an Authorization header; `session`: the browser's session cookie. */
  via: z.enum(['token', 'session']),
  /** When the session ends (ISO 8601); only with `via: session`. */
  sessionExpiresAt: z.iso.datetime().optional(),
});

const SessionBody = z.object({ token: z.string().min(1).max(1024) }).strict();

const SessionStarted = z.object({
  name: z.string(),
  scope: Scope,
  /** The value writes must carry in `x-fineprint-csrf`; also in the `fineprint_csrf` cookie, for other tabs. */
  csrf: z.string(),
  expiresAt: z.iso.datetime(),
});

/** A cookie is marked Secure when the browser reached fineprint over TLS (directly or through a proxy). */
const overTls = (request: FastifyRequest): boolean => request.protocol === 'https' || /^https\b/i.test(String(request.headers['x-forwarded-proto'] ?? ''));

/**
 * Who the caller is, and browser sessions.
 *
 * - GET /api/v1/whoami: `{name, scope, via, sessionExpiresAt?}` for a bearer token or a session.
 * - POST /api/v1/session `{"token": "..."}` (JSON): 200 `{name, scope, csrf, expiresAt}` and two
 *   cookies, `fineprint_session` (HttpOnly) and `fineprint_csrf` (readable), both `Path=/;
 *   SameSite=Strict`, `Secure` over TLS, for 7 days; 401 FP_UNAUTHORIZED for an unknown token.
 *   Every request of that browser is then authenticated without a header; a write (POST, PUT,
 *   PATCH, DELETE) must also send `x-fineprint-csrf: <fineprint_csrf cookie>`, else 403 FP_CSRF.
 * - DELETE /api/v1/session: 204 and both cookies cleared: every tab of that browser is signed out.
 */
export async function sessionRoutes(app: FastifyInstance): Promise<void> {
  app.get('/whoami', { schema: { summary: 'The caller\'s token name and scope', tags: ['session'], response: { 200: Whoami } } }, async (request) => ({
    name: request.token?.name ?? '',
    scope: request.token?.scope ?? 'read',
    via: request.session ? ('session' as const) : ('token' as const),
    ...(request.session ? { sessionExpiresAt: new Date(request.session.expiresAt).toISOString() } : {}),
  }));

  app.post(
    '/session',
    {
      config: { public: true },
      schema: {
        summary: 'Exchange a token for a browser session cookie',
        description: 'Sets `fineprint_session` (HttpOnly) and `fineprint_csrf` (SameSite=Strict, Secure over TLS). Writes authenticated by the cookie must send `x-fineprint-csrf` equal to `fineprint_csrf`, else 403 `FP_CSRF`.',
        body: SessionBody,
        response: { 200: SessionStarted, 401: ErrorBody },
      },
    },
    async (request, reply) => {
      const token = app.tokenOf((request.body as z.infer<typeof SessionBody>).token);
      if (!token) throw new FineprintError('FP_UNAUTHORIZED', 'unknown token');
      const now = Date.now();
      const session = openSession(token, now);
      void reply.header('set-cookie', sessionCookies(session, overTls(request), now)).header('cache-control', 'no-store');
      return { name: token.name, scope: token.scope, csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() };
    },
  );

  app.delete(
    '/session',
    { config: { public: true }, schema: { summary: 'Sign this browser out (clears the session cookies)', response: { 204: z.void() } } },
    async (request, reply) => reply.header('set-cookie', sessionCookies(undefined, overTls(request), Date.now())).code(204).send(),
  );
}
