import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../../../shared/paths.js';

const ASSETS = join(PACKAGE_ROOT, 'services', 'api', 'openapi');
// The page runs only its own script and style, and only fetches the document: nothing inline.
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const OpenApiObject = z.object({ openapi: z.string(), info: z.object({ title: z.string(), version: z.string() }).loose(), paths: z.record(z.string(), z.unknown()) }).loose();

/** GET /api/v1/openapi.json (the document, public) and GET /api/v1/docs (a page that renders it, no CDN). */
export async function openapiRoutes(app: FastifyInstance): Promise<void> {
  const asset = (file: string) => readFileSync(join(ASSETS, file), 'utf8');
  const page = asset('docs.html');
  const script = asset('docs.js');
  const style = asset('docs.css');

  app.get(
    '/openapi.json',
    { config: { public: true }, schema: { summary: 'This OpenAPI 3.1 document', tags: ['docs'], response: { 200: OpenApiObject } } },
    async () => app.openapi(),
  );

  app.get(
    '/docs',
    { config: { public: true }, schema: { summary: 'The API reference, rendered from /api/v1/openapi.json', tags: ['docs'], produces: 'text/html', response: { 200: z.string() } } },
    async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', DOCS_CSP).send(page),
  );
  app.get('/docs/docs.js', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(script),
  );
  app.get('/docs/docs.css', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => reply.type('text/css; charset=utf-8').send(style));
}
