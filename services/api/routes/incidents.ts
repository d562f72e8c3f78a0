import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FineprintError } from '../../../shared/errors.js';
import { Incident, IncidentDetail } from '../../../shared/incident.js';
import { KbEntry } from '../../../shared/kb/schema.js';
import { apiMetrics } from '../../../shared/metrics.js';
import { DeliveryStatus, NotificationRouting } from '../../../shared/notification.js';
import { cutText } from '../../../shared/redact.js';
import { foreseeableRisks, IncidentRisk } from '../../../shared/risk.js';
import { IncidentFacets, IncidentQuery } from '../../../shared/store/index.js';

/** Characters of an incident's message a list carries (the detail has it whole, 16 KiB at most). */
const MAX_LISTED_MESSAGE = 512;

const IncidentPage = z.object({
  /** Each with its message cut to MAX_LISTED_MESSAGE characters: a page of 500 stays small. */
  incidents: z.array(Incident),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});

const { id, title, why, fix, references, talk } = KbEntry.shape;
/** An incident with its deliveries and the KB entry that explains it (null if the entry was removed). */
const IncidentWithKb = IncidentDetail.extend({
  notifications: z.array(DeliveryStatus),
  /** Where its notifications go: says why none was sent. */
  notificationRouting: NotificationRouting,
  kb: z.object({ id, title, why, fix, references, talk }).nullable(),
  /** What the audit had found on the container that made this possible (its KB entry's `foreseenBy`). */
  risks: z.array(IncidentRisk),
});

const IncidentParams = z.object({ id: z.string().min(1).max(64).regex(/^[\w-]+$/, 'an incident id') }).strict();

/** Incident search, facets and detail: GET /api/v1/incidents, /incidents/facets, /incidents/:id. */
export async function incidentRoutes(app: FastifyInstance): Promise<void> {
  const { search } = apiMetrics(app.services.metrics);
  app.get('/incidents', { schema: { summary: 'Search incidents, most recent first', querystring: IncidentQuery, response: { 200: IncidentPage } } }, async (request) => {
    const endSearch = search.startTimer();
    const page = await app.services.store.search(request.query as IncidentQuery);
    endSearch();
    return { ...page, incidents: page.incidents.map((incident) => ({ ...incident, message: cutText(incident.message, MAX_LISTED_MESSAGE) })) };
  });

  // Before /incidents/:id, which would otherwise read `facets` as an id.
  app.get(
    '/incidents/facets',
    {
      schema: {
        summary: 'Counts by KB entry, host, severity, status and container, and a histogram over time, of what a search matches',
        description: 'Takes the search parameters; `cursor` and `limit` are ignored. The page at `/` shows these next to the list.',
        querystring: IncidentQuery,
        response: { 200: IncidentFacets },
      },
    },
    async (request) => app.services.store.facets(request.query as IncidentQuery),
  );

  app.get('/incidents/:id', { schema: { summary: 'One incident with its evidence, facts and KB entry', params: IncidentParams, response: { 200: IncidentWithKb } } }, async (request) => {
    const { id } = request.params as z.infer<typeof IncidentParams>;
    const incident = await app.services.store.get(id);
    if (!incident) throw new FineprintError('FP_NOT_FOUND', `no incident ${id}`);
    const entry = app.services.kb.byId.get(incident.kbId);
    return {
      ...incident,
      notifications: await app.services.notifier.deliveries(id),
      notificationRouting: app.services.notifier.routing(incident),
      kb: entry ? { id: entry.id, title: entry.title, why: entry.why, fix: entry.fix, references: entry.references, talk: entry.talk } : null,
      risks: foreseeableRisks(entry?.foreseenBy, incident.facts?.risks),
    };
  });
}
