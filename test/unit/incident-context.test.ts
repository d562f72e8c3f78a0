import { describe, expect, it } from 'vitest';
import { RECORD_VERSION, type ContainerFacts, type ContainerLastWords } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { Baselines, configChanges, LastWordsJoiner } from '../../services/classifier/context.js';
import { LastWordsRing } from '../../services/collector/last-words.js';

const ID = 'a'.repeat(64);

function facts(overrides: Partial<ContainerFacts> = {}): ContainerFacts {
  return {
    v: RECORD_VERSION,
    host: 'h1',
    id: ID,
    name: 'api',
    image: 'shop/api:1.4',
    imageId: 'sha256:1111',
    observedAt: 1000,
    limits: { memory: 256 * 2 ** 20, memorySwap: 256 * 2 ** 20, pids: 0, oomKillDisable: false, nanoCpus: 0 },
    restartPolicy: { name: 'no', maximumRetryCount: 0 },
    state: { status: 'running', exitCode: 0, oomKilled: false, restartCount: 0, startedAt: new Date(1000).toISOString(), finishedAt: '0001-01-01T00:00:00Z' },
    env: ['PATH=[REDACTED]', 'DB_URL=[REDACTED]'],
    command: ['node', 'server.js'],
    labels: { team: 'shop', 'com.docker.compose.config-hash': 'abc' },
    user: '',
    init: false,
    hostname: 'api',
    networkMode: 'none',
    privileged: false,
    logDriver: 'json-file',
    logOptions: {},
    mounts: [{ type: 'volume', source: 'data', destination: '/data', readOnly: false }],
    ...overrides,
  };
}

describe('LastWordsRing: a dying container\'s last lines, bounded whatever it writes', () => {
  it('keeps the last lines within the line and character budgets, oldest first, and says it cut', () => {
    const ring = new LastWordsRing({ lines: 3, chars: 1000 });
    for (let i = 0; i < 10; i++) ring.push(i % 2 ? 'stderr' : 'stdout', `line ${i}`, BigInt(i));
    expect(ring.take()).toEqual({
      lines: [
        { stream: 'stderr', text: 'line 7' },
        { stream: 'stdout', text: 'line 8' },
        { stream: 'stderr', text: 'line 9' },
      ],
      truncated: true,
    });
    expect(ring.take(), 'taken once').toBeUndefined();
  });

  it('holds no more than its character budget under a 100 MB flood', () => {
    const ring = new LastWordsRing({ lines: 50, chars: 65_536 });
    const line = 'x'.repeat(16_384);
    let held = 0;
    for (let i = 0; i < (100 * 2 ** 20) / line.length; i++) {
      ring.push('stdout', line, BigInt(i));
      held = Math.max(held, (ring as unknown as { chars: number }).chars);
    }
    expect(held).toBeLessThanOrEqual(65_536);
    const tail = ring.take();
    expect(tail?.lines.reduce((n, l) => n + l.text.length, 0)).toBeLessThanOrEqual(65_536);
    expect(tail?.truncated).toBe(true);
  });

  it('keeps binary output as escaped text, redacts secrets, and orders stdout and stderr by their log time', () => {
    const ring = new LastWordsRing({ lines: 50, chars: 65_536 });
    ring.push('stdout', 'second \u0000\u001b[31m\u007f', 2n);
    ring.push('stderr', 'first password=hunter2-very-secret', 1n);
    expect(ring.take()?.lines).toEqual([
      { stream: 'stderr', text: 'first password=[REDACTED]' },
      { stream: 'stdout', text: 'second \\x00\\x1b[31m\\x7f' },
    ]);
  });
});

describe('configChanges: what differs from the last clean run', () => {
  it('lists a lowered limit, a new image, env names added and removed, mounts and labels; never env values', () => {
    const after = facts({
      image: 'shop/api:1.5',
      imageId: 'sha256:2222',
      limits: { memory: 64 * 2 ** 20, memorySwap: -1, pids: 100, oomKillDisable: false, nanoCpus: 1.5e9 },
      env: ['PATH=[REDACTED]', 'API_TOKEN=[REDACTED]'],
      mounts: [{ type: 'volume', source: 'data', destination: '/data', readOnly: true }],
      labels: { team: 'payments', 'com.docker.compose.config-hash': 'def' },
    });
    expect(configChanges(facts(), after)).toEqual([
      { field: 'image', before: 'shop/api:1.4', after: 'shop/api:1.5' },
      { field: 'limits.memory', before: '256 MiB', after: '64 MiB' },
      { field: 'limits.memorySwap', before: '256 MiB', after: 'unlimited' },
      { field: 'limits.pids', before: 'unlimited', after: '100' },
      { field: 'limits.cpus', before: 'unlimited', after: '1.5' },
      { field: 'imageId', before: 'sha256:1111', after: 'sha256:2222' },
      { field: 'env.DB_URL', before: 'set', after: null },
      { field: 'mount:/data', before: 'volume data', after: 'volume data (ro)' },
      { field: 'label.team', before: 'shop', after: 'payments' },
      { field: 'env.API_TOKEN', before: null, after: 'set' },
    ]);
    expect(configChanges(facts(), facts({ id: 'b'.repeat(64), observedAt: 5000 }))).toEqual([]);
  });

  it('an image id unknown on one side is not a change', () => {
    const { imageId: _, ...older } = facts();
    expect(configChanges(older, facts())).toEqual([]);
  });
});

const signal = (ts: number, f: ContainerFacts | null = facts()): Extract<IncidentUpdate, { op: 'signal' }> => ({
  op: 'signal',
  proposedId: 'inc1',
  fingerprint: 'oom-kill|h1|ctr:api',
  kbId: 'oom-kill',
  title: 'OOM',
  severity: 'critical',
  host: 'h1',
  container: { id: ID, name: 'api', image: 'shop/api:1.4' },
  compose: null,
  facts: f,
  evidence: { eventId: `die:${ts}`, occurrenceId: 'occ1', detector: 'oom-kill/die', ts, kind: 'docker', source: 'docker-events', message: 'die' },
});

const lastWords = (ts: number): ContainerLastWords => ({
  v: RECORD_VERSION,
  host: 'h1',
  container: { id: ID, name: 'api' },
  ts,
  lines: [{ stream: 'stderr', text: 'Killed' }],
  truncated: false,
});

describe('LastWordsJoiner: last words join the incident of the death, whichever comes first', () => {
  it('joins once, as evidence of the occurrence, when the last words come after the signal', () => {
    const joiner = new LastWordsJoiner(60_000);
    expect(joiner.afterSignals([signal(10_000)])).toEqual([]);
    const [joined, ...rest] = joiner.observe(lastWords(10_050));
    expect(rest).toEqual([]);
    expect(joined).toMatchObject({
      op: 'signal',
      fingerprint: 'oom-kill|h1|ctr:api',
      evidence: { eventId: `last-words:${ID}:10050`, occurrenceId: 'occ1', message: 'Last words (1 lines): Killed' },
      context: { lastWords: { lines: [{ stream: 'stderr', text: 'Killed' }], truncated: false } },
    });
    expect(joiner.observe(lastWords(10_050)), 'a replay joins nothing more').toEqual([]);
  });

  it('joins a signal that comes after the last words, but not one far from the death', () => {
    const joiner = new LastWordsJoiner(60_000);
    expect(joiner.observe(lastWords(10_000))).toEqual([]);
    expect(joiner.afterSignals([signal(10_100)])).toHaveLength(1);
    const far = { ...signal(500_000), evidence: { ...signal(500_000).evidence, occurrenceId: 'occ2' } };
    expect(joiner.afterSignals([far])).toEqual([]);
  });

  it('never files a retracted occurrence again: the JVM occurrence that took over the OOM kill gets the last words', () => {
    const joiner = new LastWordsJoiner(60_000);
    const jvm = { ...signal(10_020), fingerprint: 'jvm-heap|h1|ctr:api', kbId: 'jvm-heap', evidence: { ...signal(10_020).evidence, eventId: 'kmsg:1', occurrenceId: 'occ9' } };
    const retract = { op: 'retract' as const, fingerprint: 'oom-kill|h1|ctr:api', occurrenceId: 'occ1', intoFingerprint: jvm.fingerprint, intoOccurrenceId: 'occ9' };
    expect(joiner.afterSignals([signal(10_000), jvm, retract])).toEqual([]);
    const joined = joiner.observe(lastWords(10_050));
    expect(joined.map((u) => (u.op === 'signal' ? [u.fingerprint, u.evidence.occurrenceId] : u.op))).toEqual([['jvm-heap|h1|ctr:api', 'occ9']]);
  });
});

describe('Baselines: the setup of the last run that ran cleanly', () => {
  it('compares with a run that lasted, not with one that died young', () => {
    const saved: ContainerFacts[] = [];
    const baselines = new Baselines(60_000, { loadBaselines: () => [], saveBaseline: (_s, f) => saved.push(f) });
    baselines.observeFacts(facts());
    const die = (ts: number, id = ID) => ({ v: RECORD_VERSION, id: `die${ts}`, host: 'h1', kind: 'docker', source: 'docker-events', ts, message: 'die', container: { id }, docker: { type: 'container', action: 'die', attributes: {} } }) as const;
    expect(baselines.annotate([signal(2000)])[0], 'no clean run yet').not.toHaveProperty('context');
    baselines.observeEvent(die(120_000));
    expect(saved).toHaveLength(1);

    const second = facts({ id: 'b'.repeat(64), limits: { ...facts().limits, memory: 32 * 2 ** 20 }, state: { ...facts().state, startedAt: new Date(200_000).toISOString() } });
    baselines.observeFacts(second);
    // Died after 5 s: not clean, so the first run stays the baseline.
    baselines.observeEvent(die(205_000, second.id));
    const [annotated] = baselines.annotate([signal(205_000, second)]);
    expect(annotated?.op === 'signal' && annotated.context?.changes).toEqual([{ field: 'limits.memory', before: '256 MiB', after: '32 MiB' }]);
    expect(saved).toHaveLength(1);

    const restarted = new Baselines(60_000, { loadBaselines: () => saved, saveBaseline: () => undefined });
    const [again] = restarted.annotate([signal(205_000, second)]);
    expect(again?.op === 'signal' && again.context?.changes, 'kept across a restart').toHaveLength(1);
  });
});
