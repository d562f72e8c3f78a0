// One cause, one incident: a fork bomb under a PID 1 that never reaps fills the pids limit and leaves
// zombies; the zombies of that container and moment are evidence of the pids-exhausted incident,
// whichever the classifier sees first. Through the production classifier and the real KB.
import { describe, expect, it } from 'vitest';
import { compileKb, createClassifier, FactsCache } from '../../services/classifier/index.js';
import { RECORD_VERSION, type NormalizedEvent } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';

const kb = compileKb(loadKnowledgeBase());
const ID = '904549abf5ac94c4a680bbdda1652376c2a72d303811cfd633641c7facab86e0';
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const container = { id: ID, name: 'forker', image: 'busybox' };

// As the kmsg source sends the kernel's line (the container named by its cgroup path).
const forkRejected = (ts: number): NormalizedEvent => ({
  v: RECORD_VERSION,
  id: `kmsg:${ts}`,
  host: 'node-1',
  kind: 'kernel',
  source: 'kmsg',
  ts,
  message: `cgroup: fork rejected by pids controller in /docker/${ID}`,
  container,
});
// As the host probe sends its zombie count.
const zombies = (ts: number, n: number): NormalizedEvent => ({
  v: RECORD_VERSION,
  id: `probe:container.zombies:${ID}:${ts}`,
  host: 'node-1',
  kind: 'probe',
  source: 'host-probe',
  ts,
  message: `${n} zombie processes in container forker`,
  container,
  probe: { metric: 'container.zombies', value: n, subject: ID },
});

/** The incidents the updates leave: fingerprint -> event ids of their evidence (retractions applied). */
function incidents(updates: readonly IncidentUpdate[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const u of updates) {
    if (u.op === 'signal') out.set(u.fingerprint, [...(out.get(u.fingerprint) ?? []), u.evidence.eventId]);
    else {
      out.set(u.intoFingerprint, [...(out.get(u.intoFingerprint) ?? []), ...(out.get(u.fingerprint) ?? [])]);
      out.delete(u.fingerprint);
    }
  }
  return out;
}

function classify(events: NormalizedEvent[]): Map<string, string[]> {
  const classifier = createClassifier({ kb, facts: new FactsCache(), metrics: pipelineMetrics(new MetricsRegistry()), log: createLogger('test', 'silent') });
  return incidents(events.flatMap((e) => classifier.updatesFor(e)));
}

describe('a consequence files under its cause', () => {
  it('zombies after the fork was rejected are evidence of the pids-exhausted incident', () => {
    const filed = classify([forkRejected(T0), zombies(T0 + 2000, 19), zombies(T0 + 4000, 19)]);
    expect([...filed.keys()]).toEqual(['pids-exhausted|node-1|ctr:forker']);
    expect(filed.get('pids-exhausted|node-1|ctr:forker')).toHaveLength(3);
  });

  it('zombies seen before the rejected fork move into the pids-exhausted incident', () => {
    const filed = classify([zombies(T0, 3), forkRejected(T0 + 1000)]);
    expect([...filed.keys()]).toEqual(['pids-exhausted|node-1|ctr:forker']);
    expect(filed.get('pids-exhausted|node-1|ctr:forker')?.sort()).toEqual([`kmsg:${T0 + 1000}`, `probe:container.zombies:${ID}:${T0}`].sort());
  });

  it('zombies of another moment stay an incident of their own', () => {
    const filed = classify([forkRejected(T0), zombies(T0 + 10 * 60_000, 2)]);
    expect([...filed.keys()].sort()).toEqual(['pids-exhausted|node-1|ctr:forker', 'zombie-reaping|node-1|ctr:forker']);
  });
});
