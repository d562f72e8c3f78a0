import type { ContainerFacts, NormalizedEvent } from '../../shared/event.js';

export interface Enrichment {
  container: { id: string; name: string; image: string } | null;
  compose: { project: string; service: string } | null;
  facts: ContainerFacts | null;
}

/** Where container facts survive a classifier restart (the embedded store keeps a table of them). */
export interface FactsPersistence {
  loadFacts(): ContainerFacts[];
  saveFacts(facts: ContainerFacts): void;
}

/**
 * The latest facts of every container seen, by host and id. Collectors send facts before the events
 * they explain, so a kernel line that only names a cgroup id gets the container's name and image.
 */
export class FactsCache {
  private readonly byKey = new Map<string, ContainerFacts>();

  constructor(private readonly persistence?: FactsPersistence) {
    for (const facts of persistence?.loadFacts() ?? []) this.byKey.set(`${facts.host}/${facts.id}`, facts);
  }

  update(facts: ContainerFacts): void {
    const key = `${facts.host}/${facts.id}`;
    const known = this.byKey.get(key);
    if (known && known.observedAt > facts.observedAt) return;
    this.byKey.set(key, facts);
    this.persistence?.saveFacts(facts);
  }

  get(host: string, id: string): ContainerFacts | undefined {
    const exact = this.byKey.get(`${host}/${id}`);
    if (exact || id.length === 64) return exact;
    for (const facts of this.byKey.values()) if (facts.host === host && facts.id.startsWith(id)) return facts;
    return undefined;
  }

  /** Adds the container's name, image, compose service and facts to what the event says. */
  enrich(event: NormalizedEvent): Enrichment {
    const ref = event.container;
    if (!ref) return { container: null, compose: null, facts: null };
    const facts = this.get(event.host, ref.id) ?? null;
    const name = (ref.name ?? facts?.name ?? ref.id.slice(0, 12)).replace(/^\//, '');
    return {
      container: { id: facts?.id ?? ref.id, name, image: ref.image ?? facts?.image ?? '' },
      compose: facts?.compose ?? null,
      facts,
    };
  }
}
