import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PACKAGE_ROOT } from '../../../shared/paths.js';

/** The page's files: plain HTML, CSS and ES modules shipped as they are (no build step). */
const WEB = join(PACKAGE_ROOT, 'services', 'api', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Its own scripts and styles only, data only from the API, nothing inline, no frames. Trusted Types
 * make any string-to-HTML sink (innerHTML...) throw, so event text can never become markup or script.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

function load(file: string): Asset {
  const body = readFileSync(join(WEB, file));
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  return { type, body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function send(asset: Asset, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  void reply
    .header('content-type', asset.type)
    .header('etag', asset.etag)
    // Revalidated on every load: a 304 costs a round trip, never a stale script after an upgrade.
    .header('cache-control', 'no-cache')
    .header('vary', 'accept-encoding')
    .header('content-security-policy', PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

/**
 * The incident history page: GET / and its files under /ui/, public (the page asks for a token and
 * sends it to the API, which checks it). Files are read and compressed once, at start.
 */
export async function webRoutes(app: FastifyInstance): Promise<void> {
  for (const file of readdirSync(WEB).filter((f) => TYPES[extname(f)])) {
    const asset = load(file);
    const url = file === 'index.html' ? '/' : `/ui/${file}`;
    app.get(url, { config: { public: true }, schema: { hide: true } }, async (request, reply) => send(asset, request, reply));
  }
}
