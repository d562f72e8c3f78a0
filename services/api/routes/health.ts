import type { FastifyInstance } from 'fastify';

/** GET /healthz (503 when a component is down) and GET /metrics (Prometheus text format). */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', { config: { public: true } }, async (_request, reply) => {
    const components = await app.services.health();
    const ok = Object.values(components).every((c) => c.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', components });
  });

  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    return reply.type('text/plain; version=0.0.4').send(app.services.metrics.render());
  });
}
