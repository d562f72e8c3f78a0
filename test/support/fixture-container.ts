import { RECORD_VERSION, type CollectorRecord, type ContainerFacts, type NormalizedEvent } from '../../shared/event.js';
import type { Fixture } from '../../shared/kb/schema.js';

/** The container a fixture's lines come from when the fixture describes one. */
export const FIXTURE_CONTAINER_ID = 'f'.repeat(64);
const PREVIOUS_CONTAINER_ID = 'e'.repeat(64);

function facts(id: string, name: string, hostname: string, mounts: NonNullable<Fixture['container']>['mounts'], observedAt: number): ContainerFacts {
  return {
    v: RECORD_VERSION,
    host: 'fixture',
    id,
    name,
    image: 'fixture',
    observedAt,
    limits: { memory: 0, memorySwap: 0, pids: 0, oomKillDisable: false, nanoCpus: 0 },
    restartPolicy: { name: 'no', maximumRetryCount: 0 },
    state: { status: 'running', exitCode: 0, oomKilled: false, restartCount: 0, startedAt: '', finishedAt: '' },
    env: [],
    command: [],
    labels: {},
    user: '',
    init: false,
    hostname,
    networkMode: 'none',
    privileged: false,
    logDriver: 'json-file',
    logOptions: {},
    mounts,
  };
}

/**
 * The facts records that set up a fixture's container before its lines: the container that used its
 * mounts before it (`previousHostname`), then the container itself. None without `container`.
 */
export function fixtureFacts(fixture: Fixture): CollectorRecord[] {
  const container = fixture.container;
  if (!container) return [];
  const previous = container.previousHostname
    ? [facts(PREVIOUS_CONTAINER_ID, 'fixture-previous', container.previousHostname, container.mounts, 1)]
    : [];
  return [...previous, facts(FIXTURE_CONTAINER_ID, 'fixture', container.hostname, container.mounts, 2)].map((f) => ({ type: 'facts' as const, facts: f }));
}

/** The event of a fixture line, from the fixture's container when it describes one. */
export function fromFixtureContainer(fixture: Fixture, event: NormalizedEvent): NormalizedEvent {
  return fixture.container ? { ...event, container: { id: FIXTURE_CONTAINER_ID } } : event;
}
