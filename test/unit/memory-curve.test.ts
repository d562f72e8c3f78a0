// The memory curve an OOM incident carries (the collector's ring of cgroup readings) and which limit
// a kill exhausted, read from the kernel's own oom-kill summary line.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryRing, readCgroupMemory } from '../../services/collector/memory-curve.js';
import { compileKb, createClassifier, FactsCache } from '../../services/classifier/index.js';
import { RECORD_VERSION, type NormalizedEvent } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { oomScope } from '../../shared/kmsg/oom-scope.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';

const MiB = 2 ** 20;
const recording = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'real', 'oom.md'), 'utf8');
const ID = /Container id: `([0-9a-f]{64})`/.exec(recording)?.[1] as string;
const SUMMARY = (/;(oom-kill:constraint=[^\n]*)/.exec(recording)?.[1] ?? '').trim();

describe('which limit an OOM kill exhausted', () => {
  it("is the container's own on the real recording of a kill at its limit", () => {
    expect(SUMMARY).toMatch(/^oom-kill:constraint=CONSTRAINT_MEMCG,/);
    expect(oomScope(SUMMARY, ID)).toBe('container');
  });

  it("is a parent's when the exhausted memcg is not the container's", () => {
    const line = SUMMARY.replace(/oom_memcg=[^,]*/, 'oom_memcg=/system.slice/app.slice');
    expect(oomScope(line, ID)).toBe('parent');
  });

  it("is the host's for a global OOM (no memcg constraint)", () => {
    const line = `oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/docker/${ID},task=sh,pid=42,uid=0`;
    expect(oomScope(line, ID)).toBe('host');
  });

  it('reaches the oom-kill incident, with the curve of the Docker oom event, through the production classifier', () => {
    const classifier = createClassifier({ kb: compileKb(loadKnowledgeBase()), facts: new FactsCache(), metrics: pipelineMetrics(new MetricsRegistry()), log: createLogger('test', 'silent') });
    const base = { v: RECORD_VERSION, host: 'h', container: { id: ID, name: 'grows' } } as const;
    const curve = new MemoryRing(64 * MiB, 600_000);
    curve.push({ t: 1000, bytes: 10 * MiB });
    curve.push({ t: 2000, bytes: 40 * MiB });
    const oom: NormalizedEvent = { ...base, id: 'docker:1:oom', kind: 'docker', source: 'docker-events', ts: 3000, message: 'container oom', docker: { type: 'container', action: 'oom', attributes: {} }, memoryCurve: curve.curve(3000, true) };
    const kernel: NormalizedEvent = { ...base, id: 'kmsg:1', kind: 'kernel', source: 'kmsg', ts: 3001, message: SUMMARY };
    const context = classifier.classify([{ type: 'event', event: oom }, { type: 'event', event: kernel }]).flatMap((u) => (u.op === 'signal' && u.kbId === 'oom-kill' ? [u.context ?? {}] : []));
    expect(context.find((c) => c.memoryCurve)?.memoryCurve?.points.at(-1)).toEqual({ t: 3000, bytes: 64 * MiB });
    expect(context.find((c) => c.oomScope)?.oomScope).toBe('container');
  });

  it('is unknown for a line that is not the summary', () => {
    expect(oomScope('Memory cgroup out of memory: Killed process 42 (sh)', ID)).toBeUndefined();
  });
});

describe('a warning before the kill (memory-pressure, warningOf oom-kill)', () => {
  const classifier = () => createClassifier({ kb: compileKb(loadKnowledgeBase()), facts: new FactsCache(), metrics: pipelineMetrics(new MetricsRegistry()), log: createLogger('test', 'silent') });
  const base = { v: RECORD_VERSION, host: 'h', container: { id: ID, name: 'grows' } } as const;
  // Event times near now: the classifier forgets occurrences older than twice its merge window.
  const t0 = Date.now();
  const ring = new MemoryRing(64 * MiB, 600_000);
  ring.push({ t: t0 - 6000, bytes: 59 * MiB });
  ring.push({ t: t0, bytes: 60 * MiB });
  const pressure: NormalizedEvent = {
    ...base, id: `probe:container.memory_sustained_pct:${ID}:${t0}`, kind: 'probe', source: 'memory', ts: t0, message: 'Container grows has used 93.8% of its 64.0 MiB memory limit for 6 s',
    probe: { metric: 'container.memory_sustained_pct', value: 93.8, subject: ID }, memoryCurve: ring.curve(t0, false),
  };
  const docker = (action: string, ts: number, exitCode?: number): NormalizedEvent => ({
    ...base, id: `docker:${ts}:${action}`, kind: 'docker', source: 'docker-events', ts, message: `container ${action}`, docker: { type: 'container', action, attributes: {} }, ...(exitCode !== undefined ? { exitCode } : {}),
  });
  const signals = (updates: readonly IncidentUpdate[]) => updates.flatMap((u) => (u.op === 'signal' ? [u] : []));

  it('is filed as the oom-kill fingerprint with its curve; the kill files into it as an occurrence of its own, at its own severity', () => {
    const c = classifier();
    const [warning] = signals(c.classify([{ type: 'event', event: pressure }]));
    expect(warning).toMatchObject({ kbId: 'memory-pressure', severity: 'medium', fingerprint: 'oom-kill|h|ctr:grows' });
    expect(warning?.context?.memoryCurve?.points.at(-1)).toEqual({ t: t0, bytes: 60 * MiB });
    const kill = signals(c.classify([{ type: 'event', event: docker('oom', t0 + 2000) }, { type: 'event', event: docker('die', t0 + 2001, 137) }]));
    const oom = `docker:${t0 + 2000}:oom`;
    expect(kill.map((u) => [u.kbId, u.severity, u.fingerprint, u.evidence.occurrenceId])).toEqual([
      ['oom-kill', 'critical', warning?.fingerprint, oom],
      ['oom-kill', 'critical', warning?.fingerprint, oom],
    ]);
    // Readings under pressure after the kill are evidence of the kill's occurrence.
    const later = { ...pressure, id: `${pressure.id}:later`, ts: t0 + 3000 };
    expect(signals(c.classify([{ type: 'event', event: later }])).map((u) => [u.kbId, u.evidence.occurrenceId])).toEqual([['memory-pressure', oom]]);
  });

  it('takes no die 137 as the kill on its own: that waits for the oom', () => {
    const c = classifier();
    c.classify([{ type: 'event', event: pressure }]);
    expect(signals(c.classify([{ type: 'event', event: docker('die', t0 + 2001, 137) }]))).toEqual([]);
    const joined = signals(c.classify([{ type: 'event', event: docker('oom', t0 + 2002) }]));
    expect(joined.map((u) => [u.kbId, u.evidence.eventId]).sort()).toEqual([['oom-kill', `docker:${t0 + 2001}:die`], ['oom-kill', `docker:${t0 + 2002}:oom`]]);
  });
});

describe('the memory ring', () => {
  it('keeps the window, and the curve rises to the limit at the kill with its growth and time from 80 %', () => {
    const ring = new MemoryRing(64 * MiB, 60_000);
    for (let i = 0; i <= 12; i++) ring.push({ t: i * 5000, bytes: i * 5 * MiB });
    ring.push({ t: 70_000, bytes: 62 * MiB });
    const curve = ring.curve(72_000, true);
    // Readings older than a minute before the last are gone.
    expect(curve.points[0]?.t).toBe(10_000);
    expect(curve.points.at(-1)).toEqual({ t: 72_000, bytes: 64 * MiB });
    expect(curve.growthBytesPerSec).toBeGreaterThan(0.9 * MiB);
    // 55 MiB (t=55 s) is the first reading of the last run above 80 % (51.2 MiB).
    expect(curve.from80ToKillMs).toBe(72_000 - 55_000);
    expect(ring.aboveForMs(0.8)).toBe(70_000 - 55_000);
  });

  it('has no time from 80 % when usage never got there', () => {
    const ring = new MemoryRing(64 * MiB, 600_000);
    ring.push({ t: 0, bytes: MiB });
    ring.push({ t: 5000, bytes: 2 * MiB });
    const curve = ring.curve(6000, false);
    expect(curve.from80ToKillMs).toBeUndefined();
    expect(curve.points).toHaveLength(2);
    expect(ring.aboveForMs(0.9)).toBe(0);
  });
});

describe('reading a memory cgroup', () => {
  it('reads cgroup v2 files: usage, limit and limit hits (max + high)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-memcg-'));
    writeFileSync(join(dir, 'memory.current'), '50331648\n');
    writeFileSync(join(dir, 'memory.max'), '67108864\n');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 2\nmax 5\noom 0\noom_kill 0\n');
    expect(await readCgroupMemory(dir)).toEqual({ bytes: 48 * MiB, limitBytes: 64 * MiB, limitHits: 7 });
    writeFileSync(join(dir, 'memory.max'), 'max\n');
    expect((await readCgroupMemory(dir)).limitBytes).toBeUndefined();
    // The inactive file cache, which the kernel reclaims before any kill, is left out (as docker stats does).
    writeFileSync(join(dir, 'memory.stat'), 'anon 41943040\nfile 8388608\nactive_file 4194304\ninactive_file 4194304\n');
    expect((await readCgroupMemory(dir)).bytes).toBe(44 * MiB);
  });

  it("reads the host's cgroup v1 memory hierarchy when it has one", async (ctx) => {
    const root = '/sys/fs/cgroup/memory';
    const usage = await readCgroupMemory(root).catch(() => undefined);
    if (!usage) return ctx.skip();
    expect(usage.bytes).toBeGreaterThan(0);
    // The root cgroup is unlimited.
    expect(usage.limitBytes).toBeUndefined();
  });

  it('rejects for a container whose cgroup is gone', async () => {
    await expect(readCgroupMemory(join(tmpdir(), 'fp-no-such-cgroup'))).rejects.toThrow(/ENOENT/);
  });
});
