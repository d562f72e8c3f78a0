import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FineprintError } from '../../../shared/errors.js';
import { Duration } from '../../../shared/kb/schema.js';
import { Silence, SilenceMatchers } from '../../../shared/silence.js';

const SilenceParams = z.object({ id: z.string().min(1).max(64).regex(/^[\w-]+$/, 'a silence id') }).strict();

/**
 * The last instant an ISO 8601 timestamp has four year digits for: later, toISOString writes
 * `+010000-...`, which the Silence schema (and the store that re-reads it) rejects.
 */
const LAST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export const SilenceBody = z
  .object({
    matchers: SilenceMatchers,
    /** Default now. */
    startsAt: z.iso.datetime({ offset: true }).optional(),
    /** When it ends; or give `duration` instead. */
    endsAt: z.iso.datetime({ offset: true }).optional(),
    /** How long from `startsAt`, e.g. `2h`. */
    duration: Duration.optional(),
    comment: z.string().trim().min(1).max(2000),
    /** Who, when a shared token acts for a person; default the token's name. */
    createdBy: z.string().trim().min(1).max(100).optional(),
  })
  .strict()
  .refine((b) => (b.endsAt === undefined) !== (b.duration === undefined), { message: 'give exactly one of endsAt and duration' })
  // The refinement in JSON Schema, for the OpenAPI document.
  .meta({ oneOf: [{ required: ['endsAt'] }, { required: ['duration'] }] });

/** Silences: GET /api/v1/silences (read), POST and DELETE /api/v1/silences/:id (admin). */
export async function silenceRoutes(app: FastifyInstance): Promise<void> {
  const { store } = app.services;

  app.get('/silences', { schema: { summary: 'Every silence, latest end first', response: { 200: z.object({ silences: z.array(Silence) }) } } }, async () => {
    const silences = await store.silences();
    return { silences: silences.sort((a, b) => b.endsAt.localeCompare(a.endsAt)) };
  });

  app.post('/silences', { config: { scope: 'admin' }, schema: { summary: 'Silence notifications of matching incidents', body: SilenceBody, response: { 201: Silence } } }, async (request, reply) => {
    const body = request.body as z.infer<typeof SilenceBody>;
    const now = Date.now();
    const startsAt = body.startsAt ? Date.parse(body.startsAt) : now;
    const endsAt = body.endsAt ? Date.parse(body.endsAt) : startsAt + (body.duration ?? 0);
    if (endsAt <= startsAt) throw new FineprintError('FP_BAD_REQUEST', 'body.endsAt: must be after startsAt');
    if (endsAt <= now) throw new FineprintError('FP_BAD_REQUEST', 'body.endsAt: must be in the future');
    // A huge duration ("99999999999h") would end past year 9999, or past the last instant a Date holds.
    if (endsAt > LAST_DATE_MS) throw new FineprintError('FP_BAD_REQUEST', 'body.duration: ends too far in the future');
    const silence: Silence = {
      id: randomUUID(),
      matchers: body.matchers,
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
      createdBy: body.createdBy ?? request.token?.name ?? 'unknown',
      createdAt: new Date(now).toISOString(),
      comment: body.comment,
    };
    await store.putSilence(silence);
    return reply.code(201).send(silence);
  });

  app.delete('/silences/:id', { config: { scope: 'admin' }, schema: { summary: 'End a silence', params: SilenceParams, response: { 204: z.void() } } }, async (request, reply) => {
    const { id } = request.params as z.infer<typeof SilenceParams>;
    if (!(await store.deleteSilence(id))) throw new FineprintError('FP_NOT_FOUND', `no silence ${id}`);
    return reply.code(204).send();
  });
}
