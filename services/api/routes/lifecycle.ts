import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FineprintError } from '../../../shared/errors.js';
import { Incident, type LifecycleMark } from '../../../shared/incident.js';
import { ErrorBody } from '../plugins/errors.js';

const IncidentParams = z.object({ id: z.string().min(1).max(64).regex(/^[\w-]+$/, 'an incident id') }).strict();

export const LifecycleBody = z
  .object({
    /** Why, for the people who look at the incident later. */
    comment: z.string().trim().min(1).max(2000).optional(),
    /** Who, when a shared token acts for a person; default the token's name. */
    by: z.string().trim().min(1).max(100).optional(),
  })
  .strict();
type LifecycleBody = z.infer<typeof LifecycleBody>;

function markOf(request: FastifyRequest): LifecycleMark {
  const body = (request.body ?? {}) as LifecycleBody;
  return {
    by: body.by ?? request.token?.name ?? 'unknown',
    at: new Date().toISOString(),
    ...(body.comment ? { comment: body.comment } : {}),
  };
}

/**
 * The incident lifecycle: POST /api/v1/incidents/:id/ack and /resolve (admin token). Both are
 * idempotent; acknowledging a resolved incident is a conflict. Receivers hear of the change.
 */
export async function lifecycleRoutes(app: FastifyInstance): Promise<void> {
  const { store, notifier } = app.services;
  const options = { config: { scope: 'admin' as const }, schema: { params: IncidentParams, body: LifecycleBody.nullish(), response: { 200: Incident } } };

  const changed = async (id: string, incident: Incident | undefined): Promise<Incident> => {
    if (!incident) throw new FineprintError('FP_NOT_FOUND', `no incident ${id}`);
    await notifier.observe([incident]);
    return incident;
  };

  app.post('/incidents/:id/ack', { ...options, schema: { ...options.schema, summary: 'Acknowledge an incident', response: { 200: Incident, 409: ErrorBody } } }, async (request) => {
    const { id } = request.params as z.infer<typeof IncidentParams>;
    const incident = await store.acknowledge(id, markOf(request));
    if (incident?.status === 'resolved') throw new FineprintError('FP_CONFLICT', `incident ${id} is resolved; a recurrence re-opens it`);
    return changed(id, incident);
  });

  app.post('/incidents/:id/resolve', { ...options, schema: { ...options.schema, summary: 'Resolve an incident' } }, async (request) => {
    const { id } = request.params as z.infer<typeof IncidentParams>;
    return changed(id, await store.resolve(id, { ...markOf(request), auto: false }));
  });
}
