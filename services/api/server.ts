import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../shared/log.js';
import { app, type AppOptions } from './app.js';
import { frameworkErrors } from './plugins/errors.js';

/** Builds the Fastify instance around the app plugin (tests call this and use `inject`). */
export async function buildServer(options: AppOptions, log?: Logger): Promise<FastifyInstance> {
  const server = Fastify({
    ...(log ? { loggerInstance: log as FastifyBaseLogger } : { logger: false }),
    // Requests are small; a slow or stuck client must not hold a socket forever.
    requestTimeout: 30_000,
    connectionTimeout: 10_000,
    bodyLimit: 1_048_576,
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
  });
  await server.register(app, options);
  await server.ready();
  return server;
}
