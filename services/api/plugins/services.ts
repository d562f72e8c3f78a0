import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { KnowledgeBase } from '../../../shared/kb/load.js';
import type { MetricsRegistry } from '../../../shared/metrics.js';
import type { Notifier } from '../../../shared/notification.js';
import type { IncidentStore } from '../../../shared/store/index.js';

/** A component's health as /healthz reports it. */
export interface ComponentHealth {
  ok: boolean;
  detail?: string;
}

export interface ApiServices {
  store: IncidentStore;
  kb: KnowledgeBase;
  metrics: MetricsRegistry;
  /** Tells receivers about incidents that changed; its deliveries show on the incident. */
  notifier: Notifier;
  /** Health of what the process runs besides the API (sources, classifier, store). */
  health: () => Promise<Record<string, ComponentHealth>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: ApiServices;
  }
}

/** Makes the domain services available to routes as `app.services`. */
export const servicesPlugin = fp(
  async (app: FastifyInstance, services: ApiServices) => {
    app.decorate('services', services);
  },
  { name: 'services' },
);
