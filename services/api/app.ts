import type { FastifyInstance } from 'fastify';
import { authPlugin, type ApiToken } from './plugins/auth.js';
import { errorsPlugin } from './plugins/errors.js';
import { etagPlugin } from './plugins/etag.js';
import { hardeningPlugin } from './plugins/hardening.js';
import { openapiPlugin } from './plugins/openapi.js';
import { servicesPlugin, type ApiServices } from './plugins/services.js';
import { containerRoutes } from './routes/containers.js';
import { healthRoutes } from './routes/health.js';
import { incidentRoutes } from './routes/incidents.js';
import { kbRoutes } from './routes/kb.js';
import { openapiRoutes } from './routes/openapi.js';
import { riskRoutes } from './routes/risks.js';
import { lifecycleRoutes } from './routes/lifecycle.js';
import { sessionRoutes } from './routes/session.js';
import { silenceRoutes } from './routes/silences.js';
import { statsRoutes } from './routes/stats.js';
import { webRoutes } from './routes/web.js';

export interface AppOptions extends ApiServices {
  tokens: readonly ApiToken[];
  /** Host names answered besides IP addresses and localhost (see hardeningPlugin). */
  allowedHosts?: readonly string[];
}

/** The API as a plugin: integrations first, then auth, then routes. server.ts only boots it. */
export async function app(instance: FastifyInstance, options: AppOptions): Promise<void> {
  const { tokens, allowedHosts, ...services } = options;
  await instance.register(errorsPlugin);
  await instance.register(hardeningPlugin, { allowedHosts: allowedHosts ?? [] });
  // Before any route: it collects them all for the OpenAPI document.
  await instance.register(openapiPlugin);
  await instance.register(servicesPlugin, services);
  await instance.register(authPlugin, { tokens });
  await instance.register(etagPlugin);
  await instance.register(healthRoutes);
  await instance.register(webRoutes);
  await instance.register(
    async (v1) => {
      await v1.register(incidentRoutes);
      await v1.register(riskRoutes);
      await v1.register(statsRoutes);
      await v1.register(containerRoutes);
      await v1.register(lifecycleRoutes);
      await v1.register(silenceRoutes);
      await v1.register(kbRoutes);
      await v1.register(openapiRoutes);
      await v1.register(sessionRoutes);
    },
    { prefix: '/api/v1' },
  );
}
