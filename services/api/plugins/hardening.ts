import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { FineprintError } from '../../../shared/errors.js';

/** The host name of a Host header (`name:port`, `[v6]:port`), lowercased, without a trailing dot. */
function hostName(header: string): string {
  const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d*$/, '');
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Whether the API answers to this Host: IP addresses and loopback names always (a DNS rebinding
 * attack needs a domain name of its own in Host), other names only when configured.
 */
function hostAllowed(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (!header) return false;
  const name = hostName(header);
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || allowed.has(name);
}

/**
 * What every response needs whatever the route: a Host check against DNS rebinding (421
 * FP_HOST_NOT_ALLOWED), and `X-Content-Type-Options: nosniff` so no browser reads a JSON body or
 * an error as a page or a script. Register it first: it answers before auth and routes.
 */
export const hardeningPlugin = fp(
  async (app: FastifyInstance, options: { allowedHosts?: readonly string[] }) => {
    const allowed = new Set((options.allowedHosts ?? []).map(hostName));
    app.addHook('onRequest', async (request: FastifyRequest) => {
      if (!hostAllowed(request.headers.host, allowed)) {
        throw new FineprintError(
          'FP_HOST_NOT_ALLOWED',
          'this API does not answer to that Host header; add the name to FINEPRINT_ALLOWED_HOSTS if it is how people reach it',
        );
      }
    });
    app.addHook('onSend', async (_request, reply) => {
      void reply.header('x-content-type-options', 'nosniff');
    });
  },
  { name: 'hardening', dependencies: ['errors'] },
);
