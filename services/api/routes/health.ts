import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

const Health = z.object({
  status: z.enum(['ok', 'degraded']),
  components: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
});

/** GET /healthz (503 when a component is down) and GET /metrics (Prometheus text format). */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', { config: { public: true }, schema: { summary: 'Health of every component; 503 when one is down', response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const components = await app.services.health();
    const ok = Object.values(components).every((c) => c.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', components });
  });

  app.get('/metrics', { config: { public: true }, schema: { summary: 'Prometheus metrics', produces: 'text/plain', response: { 200: z.string() } } }, async (_request, reply) => {
    return reply.type(app.services.metrics.contentType).send(await app.services.metrics.render());
  });
}
