import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { FineprintError } from '../../../shared/errors.js';

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

/** Bearer-token auth on every route but those marked `config.public`. */
export const authPlugin = fp(
  async (app: FastifyInstance, options: { tokens: readonly ApiToken[] }) => {
    const known = options.tokens.map((token) => ({ token, digest: digest(token.token) }));
    app.addHook('onRequest', async (request: FastifyRequest) => {
      const config = request.routeOptions.config;
      if (config.public || request.is404) return;
      const header = request.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const presented = match?.[1];
      const token = presented ? tokenOf(known, presented) : undefined;
      if (!token) throw new FineprintError('FP_UNAUTHORIZED', header ? 'invalid bearer token' : 'missing Authorization: Bearer <token> header');
      if ((config.scope ?? 'read') === 'admin' && token.scope !== 'admin') {
        throw new FineprintError('FP_FORBIDDEN', 'this route needs an admin token');
      }
      request.token = { name: token.name, scope: token.scope };
    });
  },
  { name: 'auth', dependencies: ['errors'] },
);
