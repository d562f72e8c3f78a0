import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { FineprintError } from '../../../shared/errors.js';
import { cookiesOf, CSRF_HEADER, csrfMatches, SESSION_COOKIE, sessionOf } from '../session.js';

export type TokenScope = 'admin' | 'read';

export interface ApiToken {
  /** Who the token belongs to: recorded as `by` on what it does (acknowledge, resolve, silence). */
  name: string;
  token: string;
  scope: TokenScope;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The bearer token that authenticated the request (its name and scope). */
    token?: Omit<ApiToken, 'token'>;
    /** When the request came with a session cookie instead of a bearer token: when that session ends. */
    session?: { expiresAt: number };
  }
  interface FastifyInstance {
    /** The configured token equal to `presented`, if any (how POST /api/v1/session checks a token). */
    tokenOf(presented: string): ApiToken | undefined;
  }
  interface FastifyContextConfig {
    /** Routes that anyone may call (health, metrics). */
    public?: boolean;
    /** The scope a route needs; `read` by default. */
    scope?: TokenScope;
  }
}

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * The token presented, if it is one of `tokens`. Compared as SHA-256 digests, in constant time,
 * against every token: neither the time nor an early exit tells how long a token is or which is close.
 */
function tokenOf(tokens: readonly { token: ApiToken; digest: Buffer }[], presented: string): ApiToken | undefined {
  const candidate = digest(presented);
  let found: ApiToken | undefined;
  for (const t of tokens) if (timingSafeEqual(t.digest, candidate)) found ??= t.token;
  return found;
}

/** Methods that change nothing: a session cookie alone is enough for them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Auth on every route but those marked `config.public`: a bearer token, or else the session cookie
 * a browser got from POST /api/v1/session. A write on a session cookie must also carry the
 * session's CSRF value in `x-fineprint-csrf` (a page of another site cannot set that header).
 */
export const authPlugin = fp(
  async (app: FastifyInstance, options: { tokens: readonly ApiToken[] }) => {
    const known = options.tokens.map((token) => ({ token, digest: digest(token.token) }));
    app.decorate('tokenOf', (presented: string) => tokenOf(known, presented));

    const fromSession = (request: FastifyRequest): ApiToken => {
      const cookie = cookiesOf(request.headers.cookie).get(SESSION_COOKIE);
      if (!cookie) throw new FineprintError('FP_UNAUTHORIZED', 'missing Authorization: Bearer <token> header');
      const session = sessionOf(options.tokens, cookie, Date.now());
      if (!session) throw new FineprintError('FP_UNAUTHORIZED', 'the session has expired or its token changed; sign in again');
      const csrf = request.headers[CSRF_HEADER];
      if (!SAFE_METHODS.has(request.method) && !csrfMatches(session, typeof csrf === 'string' ? csrf : undefined)) {
        throw new FineprintError('FP_CSRF', `a write with a session cookie needs the ${CSRF_HEADER} header set to the fineprint_csrf cookie`);
      }
      request.session = { expiresAt: session.expiresAt };
      return session.token;
    };

    app.addHook('onRequest', async (request: FastifyRequest) => {
      const config = request.routeOptions.config;
      if (config.public || request.is404) return;
      const header = request.headers.authorization;
      let token: ApiToken | undefined;
      if (header === undefined) token = fromSession(request);
      else {
        const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
        token = presented ? tokenOf(known, presented) : undefined;
        if (!token) throw new FineprintError('FP_UNAUTHORIZED', 'invalid bearer token');
      }
      if ((config.scope ?? 'read') === 'admin' && token.scope !== 'admin') {
        throw new FineprintError('FP_FORBIDDEN', 'this route needs an admin token');
      }
      request.token = { name: token.name, scope: token.scope };
    });
  },
  { name: 'auth', dependencies: ['errors'] },
);
