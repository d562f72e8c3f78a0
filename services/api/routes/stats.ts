import type { FastifyInstance } from 'fastify';
import { IncidentStats, StatsQuery } from '../../../shared/store/stats.js';

/** What happened over a range: GET /api/v1/stats. */
export async function statsRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/stats',
    {
      schema: {
        summary: 'Incidents per KB entry, image and host over a range, mean times to acknowledge and resolve, and the repeat offenders',
        description:
          'Counts the incidents first seen from `from` to `to` (default: the last 7 days). The means run from an incident\'s first sighting to its acknowledgement or resolution, over the incidents that have one. Repeat offenders are the containers with the most occurrences.',
        querystring: StatsQuery,
        response: { 200: IncidentStats },
      },
    },
    async (request) => app.services.store.stats(request.query as StatsQuery),
  );
}
