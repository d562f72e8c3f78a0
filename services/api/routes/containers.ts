import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ContainerFacts } from '../../../shared/event.js';
import { Incident } from '../../../shared/incident.js';
import { Severity } from '../../../shared/kb/schema.js';
import { Risk, RiskQuery, severityRank } from '../../../shared/risk.js';
import { IncidentQuery, MAX_PAGE, type IncidentStore } from '../../../shared/store/index.js';

/** Pages of incidents (and of risks) read at most: the latest 10 000 incidents of a fleet. */
const MAX_PAGES = 20;
/** Container facts read at once (one incident detail each). */
const FACTS_CONCURRENCY = 16;

const { id, title, severity, status, lastSeen } = Incident.shape;

/** One container as the incidents and the audit know it. */
const ContainerSummary = z.object({
  host: z.string(),
  id: z.string(),
  name: z.string(),
  image: z.string(),
  compose: z.object({ project: z.string(), service: z.string() }).nullable(),
  /** State, exit code and restarts as last inspected (with its latest incident); null for a container known from the audit only. */
  state: ContainerFacts.shape.state.nullable(),
  restartPolicy: ContainerFacts.shape.restartPolicy.nullable(),
  /** When the state was read (ISO 8601); null without one. */
  observedAt: z.iso.datetime().nullable(),
  /** Latest incident's lastSeen (ISO 8601); null for a container without incidents. */
  lastIncident: z.iso.datetime().nullable(),
  /** Incidents of the container by status. */
  incidents: z.object({ open: z.number().int(), acknowledged: z.number().int(), resolved: z.number().int() }),
  /** The open and acknowledged ones, most recent first. */
  unresolved: z.array(z.object({ id, title, severity, status, lastSeen })),
  /** The audit's current findings on it, most severe first. */
  risks: z.array(Risk.pick({ kbId: true, severity: true, message: true })),
  /** The most severe of its unresolved incidents and risks; null when it has neither. */
  worst: Severity.nullable(),
});
type ContainerSummary = z.infer<typeof ContainerSummary>;

const ContainerList = z.object({
  /** Those with the most severe unresolved incidents or risks first, then by name. */
  containers: z.array(ContainerSummary),
  /** False when there were more incidents or risks than one answer reads: the oldest containers may be missing. */
  complete: z.boolean(),
});

async function everyIncident(store: IncidentStore): Promise<{ incidents: Incident[]; complete: boolean }> {
  const incidents: Incident[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await store.search(IncidentQuery.parse({ limit: MAX_PAGE, ...(cursor ? { cursor } : {}) }));
    incidents.push(...answer.incidents);
    cursor = answer.nextCursor ?? undefined;
    if (!cursor) return { incidents, complete: true };
  }
  return { incidents, complete: false };
}

async function everyRisk(store: IncidentStore): Promise<{ risks: Risk[]; complete: boolean }> {
  const risks: Risk[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await store.risks.searchRisks(RiskQuery.parse({ limit: MAX_PAGE, ...(cursor ? { cursor } : {}) }));
    risks.push(...answer.risks);
    cursor = answer.nextCursor ?? undefined;
    if (!cursor) return { risks, complete: true };
  }
  return { risks, complete: false };
}

const worstOf = (severities: readonly Severity[]): Severity | null =>
  severities.reduce<Severity | null>((worst, s) => (worst === null || severityRank(s) > severityRank(worst) ? s : worst), null);

/**
 * Every container fineprint knows of, from its incidents (most recent first) and the audit's risks:
 * GET /api/v1/containers. The page's starting point: what runs, how it is doing, what is wrong.
 */
export async function containerRoutes(app: FastifyInstance): Promise<void> {
  const { store } = app.services;

  app.get(
    '/containers',
    {
      schema: {
        summary: 'Every container with an incident or a risk: its state and restarts, its unresolved incidents and its risks',
        description: `Built from the latest ${MAX_PAGES * MAX_PAGE} incidents and the current risks. A container is keyed by host and id: one re-created under the same name is listed again. Host-level incidents and the daemon's own risks belong to no container.`,
        response: { 200: ContainerList },
      },
    },
    async () => {
      const [{ incidents, complete: allIncidents }, { risks, complete: allRisks }] = await Promise.all([everyIncident(store), everyRisk(store)]);
      const byKey = new Map<string, ContainerSummary & { latestIncidentId: string | null }>();
      const entry = (host: string, container: { id: string; name: string; image: string }) => {
        const key = `${host}/${container.id}`;
        let summary = byKey.get(key);
        if (!summary) {
          summary = {
            host,
            ...container,
            compose: null,
            state: null,
            restartPolicy: null,
            observedAt: null,
            lastIncident: null,
            incidents: { open: 0, acknowledged: 0, resolved: 0 },
            unresolved: [],
            risks: [],
            worst: null,
            latestIncidentId: null,
          };
          byKey.set(key, summary);
        }
        return summary;
      };
      // Most recent first: the first incident of a container is its latest.
      for (const incident of incidents) {
        if (!incident.container) continue;
        const summary = entry(incident.host, incident.container);
        summary.compose ??= incident.compose;
        if (!summary.latestIncidentId) {
          summary.latestIncidentId = incident.id;
          summary.lastIncident = incident.lastSeen;
        }
        summary.incidents[incident.status] += 1;
        if (incident.status !== 'resolved') {
          summary.unresolved.push({ id: incident.id, title: incident.title, severity: incident.severity, status: incident.status, lastSeen: incident.lastSeen });
        }
      }
      for (const risk of risks) {
        if (!risk.container) continue;
        entry(risk.host, risk.container).risks.push({ kbId: risk.kbId, severity: risk.severity, message: risk.message });
      }

      const summaries = [...byKey.values()];
      const withIncidents = summaries.filter((s) => s.latestIncidentId);
      for (let i = 0; i < withIncidents.length; i += FACTS_CONCURRENCY) {
        await Promise.all(
          withIncidents.slice(i, i + FACTS_CONCURRENCY).map(async (summary) => {
            const facts = (await store.get(summary.latestIncidentId ?? ''))?.facts;
            if (!facts) return;
            summary.state = facts.state;
            summary.restartPolicy = facts.restartPolicy;
            summary.observedAt = new Date(facts.observedAt).toISOString();
          }),
        );
      }

      const containers = summaries.map(({ latestIncidentId: _, ...summary }) => {
        summary.risks.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.kbId.localeCompare(b.kbId));
        return { ...summary, worst: worstOf([...summary.unresolved.map((i) => i.severity), ...summary.risks.map((r) => r.severity)]) };
      });
      const rank = (s: ContainerSummary) => (s.worst === null ? -1 : severityRank(s.worst));
      containers.sort(
        (a, b) =>
          rank(b) - rank(a) ||
          b.unresolved.length - a.unresolved.length ||
          (b.lastIncident ?? '').localeCompare(a.lastIncident ?? '') ||
          a.name.localeCompare(b.name) ||
          a.host.localeCompare(b.host),
      );
      return { containers, complete: allIncidents && allRisks };
    },
  );
}
