import { timingSafeEqual } from 'node:crypto';
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

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Bearer-token auth on every route but those marked `config.public`. */
export const authPlugin = fp(
  async (app: FastifyInstance, options: { tokens: readonly ApiToken[] }) => {
    app.addHook('onRequest', async (request: FastifyRequest) => {
      const config = request.routeOptions.config;
      if (config.public || request.is404) return;
      const header = request.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const presented = match?.[1];
      const token = presented ? options.tokens.find((t) => sameToken(t.token, presented)) : undefined;
      if (!token) throw new FineprintError('FP_UNAUTHORIZED', header ? 'invalid bearer token' : 'missing Authorization: Bearer <token> header');
      if ((config.scope ?? 'read') === 'admin' && token.scope !== 'admin') {
        throw new FineprintError('FP_FORBIDDEN', 'this route needs an admin token');
      }
      request.token = { name: token.name, scope: token.scope };
    });
  },
  { name: 'auth', dependencies: ['errors'] },
);
