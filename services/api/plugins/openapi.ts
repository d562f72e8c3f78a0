import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { PACKAGE_VERSION } from '../../../shared/paths.js';
import { openApiDocument, type RouteDoc } from '../openapi/document.js';

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document and the docs page. */
    summary?: string;
    /** More about the route, in Markdown. */
    description?: string;
    /** Groups in the docs page; by default the path segment after /api/v1/. */
    tags?: string[];
    /** Content type of the success response when it is not JSON (`text/html`). */
    produces?: string;
    /** Left out of the OpenAPI document (the docs page's own assets). */
    hide?: boolean;
  }
  interface FastifyInstance {
    /** The OpenAPI 3.1 document of every route registered, built once on first use after start. */
    openapi(): Record<string, unknown>;
  }
}


/**
 * Collects every route as it is registered (onRoute), so routes added anywhere later are in the
 * document without being listed here. Register it before the routes.
 */
export const openapiPlugin = fp(
  async (app: FastifyInstance) => {
    const routes: RouteDoc[] = [];
    app.addHook('onRoute', (route) => {
      routes.push({ method: route.method, url: route.url, schema: route.schema, config: route.config });
    });
    let document: Record<string, unknown> | undefined;
    app.decorate('openapi', () => {
      document ??= openApiDocument(routes, {
        title: 'fineprint API',
        version: PACKAGE_VERSION,
        description:
          'Incidents fineprint filed from Docker events, kernel messages, container logs and host probes, each explained by its knowledge-base entry. Every error answers with the same body (`ErrorBody`) and a stable `code`.',
      });
      return document;
    });
  },
  { name: 'openapi', dependencies: ['errors'] },
);
