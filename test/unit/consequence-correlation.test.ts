// One cause, one incident: a fork bomb under a PID 1 that never reaps fills the pids limit and leaves
// zombies; the zombies of that container and moment are evidence of the pids-exhausted incident,
// whichever the classifier sees first. A consequence of another entry (a crash loop of OOM kills)
// stays an incident of its own, linked under its cause. Through the production classifier and the real KB.
import { describe, expect, it } from 'vitest';
import { compileKb, createClassifier, FactsCache } from '../../services/classifier/index.js';
import { RECORD_VERSION, type NormalizedEvent } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { causeOf } from '../../services/classifier/correlate.js';
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
    else if (u.op === 'retract') {
      out.set(u.intoFingerprint, [...(out.get(u.intoFingerprint) ?? []), ...(out.get(u.fingerprint) ?? [])]);
      out.delete(u.fingerprint);
    }
  }
  return out;
}

const newClassifier = () => createClassifier({ kb, facts: new FactsCache(), metrics: pipelineMetrics(new MetricsRegistry()), log: createLogger('test', 'silent') });

function classify(events: NormalizedEvent[]): Map<string, string[]> {
  const classifier = newClassifier();
  return incidents(events.flatMap((e) => classifier.updatesFor(e)));
}

/** The links the updates leave: consequence fingerprint -> cause fingerprint (the latest link wins). */
function links(events: NormalizedEvent[]): Map<string, string> {
  const classifier = newClassifier();
  const out = new Map<string, string>();
  for (const u of events.flatMap((e) => classifier.updatesFor(e))) if (u.op === 'link') out.set(u.fingerprint, u.causeFingerprint);
  return out;
}

// As the docker-events source sends them (the container's OOM kill, its deaths).
const dockerEvent = (action: 'oom' | 'die', ts: number, exitCode?: number): NormalizedEvent => ({
  v: RECORD_VERSION,
  id: `docker:${ts}:${action}`,
  host: 'node-1',
  kind: 'docker',
  source: 'docker-events',
  ts,
  message: `container ${action} ${ID}`,
  container,
  docker: { type: 'container', action, attributes: { name: 'forker', image: 'busybox', ...(exitCode === undefined ? {} : { exitCode: String(exitCode) }) } },
  ...(exitCode === undefined ? {} : { exitCode }),
});
/** An OOM kill under a restart policy: the engine's `oom`, then `die` 137, `at` ms after T0. */
const oomKill = (at: number) => [dockerEvent('oom', T0 + at), dockerEvent('die', T0 + at + 20, 137)];
const crash = (at: number, exitCode = 1) => dockerEvent('die', T0 + at, exitCode);
const ON = (kbId: string) => `${kbId}|node-1|ctr:forker`;

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

describe('a consequence is linked under its cause', () => {
  it('a crash loop of OOM kills is its own incident, linked under the oom-kill incident', () => {
    const events = [...oomKill(0), ...oomKill(800), ...oomKill(2000)];
    expect([...classify(events).keys()].sort()).toEqual([ON('crash-loop'), ON('oom-kill')]);
    expect(links(events)).toEqual(new Map([[ON('crash-loop'), ON('oom-kill')]]));
  });

  it('links whichever the classifier sees first: a cause reported a moment after the crash loop still takes it', () => {
    // The engine's `oom` can reach the classifier after the deaths it explains.
    const events = [crash(0, 137), crash(500, 137), crash(1500, 137), dockerEvent('oom', T0 + 1600)];
    expect(links(events)).toEqual(new Map([[ON('crash-loop'), ON('oom-kill')]]));
  });

  it('leaves a crash loop unlinked when its cause came after it, or long before', () => {
    // Crashing with exit 1 for a minute, then OOM-killed: the OOM kill did not cause the loop.
    const later = [crash(0), crash(2000), crash(4000), crash(30_000), ...oomKill(40_000)];
    expect(links(later)).toEqual(new Map());
    // An OOM kill ten minutes before a crash loop: outside the merge window.
    const long = [...oomKill(0), crash(600_000), crash(601_000), crash(602_000)];
    expect([...classify(long).keys()].sort()).toEqual([ON('crash-loop'), ON('oom-kill')]);
    expect(links(long)).toEqual(new Map());
  });

  it('hands the consequence over when its cause turns out to be a JVM (jvm-heap supersedes oom-kill)', () => {
    const javaKilled: NormalizedEvent = { v: RECORD_VERSION, id: `kmsg:${T0 + 2500}`, host: 'node-1', kind: 'kernel', source: 'kmsg', ts: T0 + 2500, message: 'Memory cgroup out of memory: Killed process 42 (java) total-vm:4194304kB, anon-rss:31744kB', container };
    const events = [...oomKill(0), crash(800, 137), crash(2000, 137), javaKilled];
    expect([...classify(events).keys()].sort()).toEqual([ON('crash-loop'), ON('jvm-heap')]);
    expect(links(events)).toEqual(new Map([[ON('crash-loop'), ON('jvm-heap')]]));
  });

  it('never links entries the KB does not name as cause and consequence', () => {
    const events = [forkRejected(T0), zombies(T0 + 1000, 5), ...oomKill(2000)];
    expect(links(events)).toEqual(new Map());
  });

  it('takes the candidate that began first, within a moment either way of the consequence', () => {
    const candidates = [
      { fingerprint: 'disk-full', beganAt: 5000 },
      { fingerprint: 'oom-kill', beganAt: 3000 },
    ];
    expect(causeOf(4000, candidates)).toBe('oom-kill');
    expect(causeOf(1000, candidates)).toBe('oom-kill');
    // Began more than a moment (5 s) after the consequence: not its cause.
    expect(causeOf(1000, [{ fingerprint: 'oom-kill', beganAt: 7000 }])).toBeUndefined();
    expect(causeOf(1000, [])).toBeUndefined();
  });
});
