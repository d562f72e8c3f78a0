import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FineprintError } from '../../../shared/errors.js';
import { KbEntry } from '../../../shared/kb/schema.js';

const { id, title, severity, talk } = KbEntry.shape;
const KbList = z.object({ entries: z.array(z.object({ id, title, severity, talk })) });

const KbParams = z.object({ id: z.string().min(1).max(100) }).strict();

/** The knowledge base: GET /api/v1/kb, GET /api/v1/kb/:id. */
export async function kbRoutes(app: FastifyInstance): Promise<void> {
  app.get('/kb', { schema: { summary: 'The knowledge base entries', response: { 200: KbList } } }, async () => ({
    entries: app.services.kb.entries.map(({ id, title, severity, talk }) => ({ id, title, severity, talk })),
  }));

  app.get('/kb/:id', { schema: { summary: 'One KB entry: why, fix, detectors and fixtures', params: KbParams, response: { 200: KbEntry } } }, async (request) => {
    const { id } = request.params as z.infer<typeof KbParams>;
    const entry = app.services.kb.byId.get(id);
    if (!entry) throw new FineprintError('FP_NOT_FOUND', `no KB entry ${id}`);
    return entry;
  });
}
