import type { FastifyInstance } from 'fastify';
import { RiskFacets, RiskPage, RiskQuery, RiskSummary } from '../../../shared/risk.js';

/** The audit's current findings: GET /api/v1/risks, /risks/facets, /risks/summary. */
export async function riskRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/risks',
    {
      schema: {
        summary: 'Current risks: the fine print each container (and the daemon) is exposed to, most severe first',
        description:
          'One entry per host, container and KB entry, as the latest audit found it (at each container start and periodically). A risk disappears when its container is removed or re-audited without it. Risks are never incidents.',
        querystring: RiskQuery,
        response: { 200: RiskPage },
      },
    },
    async (request) => app.services.store.risks.searchRisks(request.query as RiskQuery),
  );

  app.get(
    '/risks/facets',
    {
      schema: {
        summary: 'Counts by KB entry, host, severity and container of the risks a query matches',
        description: 'Takes the filters of /risks; `cursor` and `limit` are ignored.',
        querystring: RiskQuery,
        response: { 200: RiskFacets },
      },
    },
    async (request) => app.services.store.risks.riskFacets(request.query as RiskQuery),
  );

  app.get(
    '/risks/summary',
    { schema: { summary: 'The posture at a glance: risks per KB entry and severity, and the most exposed containers', response: { 200: RiskSummary } } },
    async () => app.services.store.risks.riskSummary(),
  );
}
