import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FineprintError } from '../../../shared/errors.js';
import { IncidentQuery } from '../../../shared/store/index.js';

const IncidentParams = z.object({ id: z.string().min(1).max(64).regex(/^[\w-]+$/, 'an incident id') }).strict();

/** Incident search and detail: GET /api/v1/incidents, GET /api/v1/incidents/:id. */
export async function incidentRoutes(app: FastifyInstance): Promise<void> {
  app.get('/incidents', { schema: { querystring: IncidentQuery } }, async (request) => {
    return app.services.store.search(request.query as IncidentQuery);
  });

  app.get('/incidents/:id', { schema: { params: IncidentParams } }, async (request) => {
    const { id } = request.params as z.infer<typeof IncidentParams>;
    const incident = await app.services.store.get(id);
    if (!incident) throw new FineprintError('FP_NOT_FOUND', `no incident ${id}`);
    const entry = app.services.kb.byId.get(incident.kbId);
    return {
      ...incident,
      kb: entry ? { id: entry.id, title: entry.title, why: entry.why, fix: entry.fix, references: entry.references, talk: entry.talk } : null,
    };
  });
}
