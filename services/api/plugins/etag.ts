import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Whether an If-None-Match header names this entity tag (a list, weak or strong, or `*`). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === bare;
  });
}

/**
 * Entity tags on the API's JSON answers to GET, and 304 Not Modified when the caller already has
 * that answer: a page that polls the incident list every few seconds costs a query and a few
 * bytes, never the list again. `private, no-cache`: a browser may keep the answer, but asks each
 * time, and no shared cache keeps what a token was shown.
 */
export const etagPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.method !== 'GET' || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
      if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
      const etag = `W/"${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}"`;
      void reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (!matches(request.headers['if-none-match'], etag)) return payload;
      void reply.code(304).removeHeader('content-type');
      return null;
    });
  },
  { name: 'etag' },
);
