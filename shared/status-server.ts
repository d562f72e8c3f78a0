import { createServer, type Server } from 'node:http';
import { z } from 'zod';
import { listenError } from './errors.js';
import type { MetricsRegistry } from './metrics.js';

export interface ComponentStatus {
  ok: boolean;
  detail?: string;
}

/** The settings of a role's status server; each role has its own default port. */
export const statusServerConfig = (defaultPort: number) => ({
  FINEPRINT_STATUS_HOST: z.string().min(1).default('127.0.0.1').describe('Address of the `/healthz` and `/metrics` server.'),
  FINEPRINT_STATUS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(defaultPort)
    .describe('Port of the `/healthz` and `/metrics` server (`0` picks a free one).'),
});

/**
 * /healthz and /metrics for the processes that have no API (collector, classifier), so
 * orchestrators can health-check them and Prometheus can scrape them. Loopback by default.
 */
export async function startStatusServer(options: {
  host: string;
  port: number;
  metrics: MetricsRegistry;
  health: () => Promise<Record<string, ComponentStatus>>;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      options.metrics
        .render()
        .then((text) => response.writeHead(200, { 'content-type': options.metrics.contentType }).end(text))
        .catch((error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)));
      return;
    }
    if (request.method === 'GET' && path === '/healthz') {
      options
        .health()
        .then((components) => {
          const ok = Object.values(components).every((c) => c.ok);
          response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'degraded', components }));
        })
        .catch((error: unknown) => {
          response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'degraded', error: String(error) }));
        });
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, code: 'FP_NOT_FOUND', message: `no route ${request.method} ${path}` }));
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, 'FINEPRINT_STATUS_HOST', 'FINEPRINT_STATUS_PORT')));
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
