// Attribution of the lines of a kernel OOM report to their container, on the real recording of one
// memcg OOM kill (test/fixtures/real/oom.md): in the collector (the report is held until it names
// its memcg; a kill line whose summary was rate-limited is found by the pid of the container's
// PID 1) and in the classifier (a container-scoped line naming no container joins the occurrence
// of its container and never files a host-level incident).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AttributedRecord, type KmsgRecord, OomReportAttributor, parseKmsgRecord, REPORT_HOLD_USEC } from '../../shared/kmsg/record.js';
import { compileKb, createClassifier, FactsCache, parseLine } from '../../services/classifier/index.js';
import { RECORD_VERSION, type NormalizedEvent } from '../../shared/event.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { metricValue, MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';

const recording = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'real', 'oom.md'), 'utf8');
const ID = /Container id: `([0-9a-f]{64})`/.exec(recording)?.[1] as string;
const block = (name: string): string[] => (new RegExp('```' + name + '\\n([\\s\\S]*?)```').exec(recording)?.[1] ?? '').split('\n').filter(Boolean);
const KMSG: KmsgRecord[] = block('kmsg').map((line) => parseKmsgRecord(`${line}\n`) as KmsgRecord);
const DOCKER = block('events').map((line) => JSON.parse(line) as { Type: string; Action: string; id?: string; timeNano: number; Actor: { ID: string; Attributes: Record<string, string> } });
const HEADER = KMSG.findIndex((r) => r.message.includes(' invoked oom-killer: '));
const KILL = KMSG.findIndex((r) => r.message.startsWith('Memory cgroup out of memory: Killed process '));
const SUMMARY = KMSG.findIndex((r) => r.message.startsWith('oom-kill:'));
const KILLED_PID = Number(/Killed process (\d+)/.exec(KMSG[KILL]!.message)?.[1]);

const pushAll = (attributor: OomReportAttributor, records: readonly KmsgRecord[]): AttributedRecord[] => records.flatMap((r) => attributor.push(r));

describe('the collector attributes every line of a real OOM report to its container', () => {
  it('holds the report from its header to its kill line, then attributes all of it', () => {
    const attributor = new OomReportAttributor();
    const released = pushAll(attributor, KMSG);
    expect(released.map((r) => r.record.seq)).toEqual(KMSG.map((r) => r.seq));
    expect(released.slice(HEADER, KILL + 1).every((r) => r.containerId === ID)).toBe(true);
    const byStart = (text: string) => released.find((r) => r.record.message.startsWith(text))?.containerId;
    expect(byStart('tr invoked oom-killer')).toBe(ID);
    expect(byStart('memory: usage 32768kB')).toBe(ID);
    expect(attributor.oldestHeldSeq).toBeUndefined();
  });

  it('keeps the cursor before a report split across two reads, and releases it whole', () => {
    const attributor = new OomReportAttributor();
    expect(pushAll(attributor, KMSG.slice(0, SUMMARY))).toEqual([]);
    expect(attributor.oldestHeldSeq).toBe(KMSG[HEADER]!.seq);
    expect(attributor.expire(KMSG[HEADER]!.tsUsec + 1000)).toEqual([]);
    const rest = pushAll(attributor, KMSG.slice(SUMMARY));
    expect(rest).toHaveLength(KMSG.length);
    expect(rest.every((r) => r.containerId === ID)).toBe(true);
  });

  it('releases a report that never ends after REPORT_HOLD_USEC, attributed as far as it named its memcg', () => {
    const attributor = new OomReportAttributor();
    pushAll(attributor, KMSG.slice(0, SUMMARY));
    const released = attributor.expire(KMSG[HEADER]!.tsUsec + REPORT_HOLD_USEC + 1);
    expect(released).toHaveLength(SUMMARY);
    expect(released.every((r) => r.containerId === ID)).toBe(true);
    expect(attributor.oldestHeldSeq).toBeUndefined();
  });

  it('attributes a kill line whose report was rate-limited away through the pid of the container PID 1', () => {
    const attributor = new OomReportAttributor();
    const kill = KMSG[KILL]!;
    expect(attributor.push(kill)).toEqual([{ record: kill, cgroupIds: [] }]);
    attributor.tracker.containerStarted(KILLED_PID, ID);
    expect(attributor.push({ ...kill, seq: kill.seq + 1 })[0]?.containerId).toBe(ID);
    const reaped = { ...kill, seq: kill.seq + 2, level: 6, message: `oom_reaper: reaped process ${KILLED_PID} (sh), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB` };
    expect(attributor.push(reaped)[0]?.containerId).toBe(ID);
    // Docker reports the death before the kill line is read: the pid is kept 10 s, then forgotten.
    attributor.tracker.containerStopped(ID, kill.tsUsec);
    expect(attributor.push({ ...kill, seq: kill.seq + 3, tsUsec: kill.tsUsec + 1000 })[0]?.containerId).toBe(ID);
    expect(attributor.push({ ...kill, seq: kill.seq + 4, tsUsec: kill.tsUsec + 11_000_000 })[0]?.containerId).toBeUndefined();
  });

  it('gives a reused pid to the container that runs with it now', () => {
    const attributor = new OomReportAttributor();
    const kill = KMSG[KILL]!;
    const other = 'c'.repeat(64);
    attributor.tracker.containerStarted(KILLED_PID, other);
    attributor.tracker.containerStopped(other, kill.tsUsec - 30_000_000);
    attributor.tracker.containerStarted(KILLED_PID, ID);
    // A late inspect of the old container must not end the new one's claim.
    attributor.tracker.containerStopped(other, kill.tsUsec - 11_000_000);
    expect(attributor.push(kill)[0]?.containerId).toBe(ID);
  });
});

// --- classifier ---------------------------------------------------------------------------------

const kb = compileKb(loadKnowledgeBase());
/** Kernel clock to wall clock, as the kmsg source maps it: the kill line 1 ms before the first oom event. */
const BOOT_MS = Math.round(DOCKER.find((e) => e.Action === 'oom')!.timeNano / 1e6 - KMSG[KILL]!.tsUsec / 1000) - 1;

/** A Docker event of the recording as the docker-events source sends it; `as` renames the container. */
function dockerEvent(raw: (typeof DOCKER)[number], as = { id: ID, name: raw.Actor.Attributes.name ?? '' }, shiftMs = 0): NormalizedEvent {
  const exitCode = raw.Action === 'die' ? Number(raw.Actor.Attributes.exitCode) : undefined;
  return {
    v: RECORD_VERSION,
    id: `docker:${raw.timeNano}:${raw.Action}:${as.id}`,
    host: 'node-1',
    kind: 'docker',
    source: 'docker-events',
    ts: Math.round(raw.timeNano / 1e6) + shiftMs,
    message: `container ${raw.Action} ${as.id}`,
    container: { id: as.id, name: as.name, image: raw.Actor.Attributes.image ?? '' },
    docker: { type: raw.Type, action: raw.Action, attributes: { ...raw.Actor.Attributes, name: as.name } },
    ...(exitCode !== undefined ? { exitCode } : {}),
  };
}

/** A kernel record of the recording as the kmsg source sends it (`container`: what it attributed and inspected). */
function kernelEvent(record: KmsgRecord, container?: { id: string; name: string }, shiftMs = 0, seqShift = 0): NormalizedEvent {
  return {
    v: RECORD_VERSION,
    id: `kmsg:boot:${record.seq + seqShift}`,
    host: 'node-1',
    kind: 'kernel',
    source: 'kmsg',
    ts: Math.round(BOOT_MS + record.tsUsec / 1000) + shiftMs,
    message: record.message,
    ...(container ? { container } : {}),
    kernel: { seq: record.seq + seqShift, level: record.level, facility: record.facility },
  };
}

/** A later event on the host (the clock of held signals is the hosts' event time). */
const later = (ts: number): NormalizedEvent => ({ v: RECORD_VERSION, id: `probe:${ts}`, host: 'node-1', kind: 'probe', source: 'host-probe', ts, message: 'disk', probe: { metric: 'disk_used_ratio', value: 0.1 } });

function newClassifier() {
  const registry = new MetricsRegistry();
  const metrics = pipelineMetrics(registry);
  const classifier = createClassifier({ kb, facts: new FactsCache(), metrics, log: createLogger('test', 'silent') });
  return { classifier, dropped: () => metricValue(metrics.discarded, { source: 'classifier', reason: 'unattributed' }) };
}

/** Incidents filed by the updates: fingerprint -> messages of their evidence. */
function incidents(updates: readonly IncidentUpdate[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const u of updates) if (u.op === 'signal') out.set(u.fingerprint, [...(out.get(u.fingerprint) ?? []), u.evidence.message]);
  return out;
}

const recordedOom = DOCKER.filter((e) => e.Action === 'oom' || e.Action === 'die');
const killLine = KMSG[KILL]!;

describe('the classifier joins a kill line that names no container to its container occurrence', () => {
  it('files one incident for the container, with the kill line, and none for the host', () => {
    const { classifier } = newClassifier();
    // Rate-limited: no summary, and the collector did not know the pid.
    const events = [kernelEvent(killLine), ...recordedOom.map((e) => dockerEvent(e)), later(BOOT_MS + killLine.tsUsec / 1000 + 6000)];
    const filed = incidents(events.flatMap((e) => classifier.updatesFor(e)));
    expect([...filed.keys()]).toEqual(['oom-kill|node-1|ctr:fp-rec-oom']);
    expect(filed.get('oom-kill|node-1|ctr:fp-rec-oom')).toContain(killLine.message);
  });

  it('in a storm, gives the kill line to the container whose own kill line is missing, not the nearest', () => {
    const { classifier } = newClassifier();
    const other = { id: 'b'.repeat(64), name: 'fp-storm-2' };
    // The other container's report was printed (attributed); its oom event is nearer to our kill line than ours.
    const events = [
      kernelEvent(killLine, other, 0, 1000),
      ...recordedOom.map((e) => dockerEvent(e, other, -1)),
      kernelEvent(killLine),
      ...recordedOom.map((e) => dockerEvent(e)),
      later(BOOT_MS + killLine.tsUsec / 1000 + 6000),
    ];
    const updates = events.flatMap((e) => classifier.updatesFor(e));
    const filed = incidents(updates);
    expect([...filed.keys()].sort()).toEqual(['oom-kill|node-1|ctr:fp-rec-oom', 'oom-kill|node-1|ctr:fp-storm-2']);
    const kernelOf = (fingerprint: string) => updates.filter((u) => u.op === 'signal' && u.fingerprint === fingerprint && u.evidence.kind === 'kernel').map((u) => (u.op === 'signal' ? u.evidence.eventId : ''));
    expect(kernelOf('oom-kill|node-1|ctr:fp-rec-oom')).toEqual([kernelEvent(killLine).id]);
    expect(kernelOf('oom-kill|node-1|ctr:fp-storm-2')).toEqual([kernelEvent(killLine, other, 0, 1000).id]);
  });

  it('drops it, counted, when no occurrence of its entry is around, instead of a host-level incident', async () => {
    const { classifier, dropped } = newClassifier();
    const ts = BOOT_MS + killLine.tsUsec / 1000;
    const updates = [kernelEvent(killLine), later(ts + 6000)].flatMap((e) => classifier.updatesFor(e));
    expect(updates).toEqual([]);
    expect(await dropped()).toBe(1);
  });

  it('replays idempotently: the same events again add no incident and no other evidence', () => {
    const { classifier } = newClassifier();
    const events = [kernelEvent(killLine), ...recordedOom.map((e) => dockerEvent(e)), later(BOOT_MS + killLine.tsUsec / 1000 + 6000)];
    const first = events.flatMap((e) => classifier.updatesFor(e));
    const again = events.flatMap((e) => classifier.updatesFor(e));
    const key = (u: IncidentUpdate) => (u.op === 'signal' ? `${u.proposedId}/${u.evidence.eventId}` : u.op);
    expect(new Set(again.map(key))).toEqual(new Set(first.map(key)));
  });

  it('keeps one of the oom events the engine repeats for one kill, and the die', () => {
    const { classifier } = newClassifier();
    // containerd publishes an oom for every change of memory.events after the kill: 14 in the recording.
    const ooms = recordedOom.filter((e) => e.Action === 'oom');
    expect(ooms.length).toBeGreaterThan(1);
    const events = [kernelEvent(killLine, { id: ID, name: 'fp-rec-oom' }), ...recordedOom.map((e) => dockerEvent(e))];
    const evidence = events.flatMap((e) => classifier.updatesFor(e)).flatMap((u) => (u.op === 'signal' ? [u.evidence] : []));
    expect(evidence.filter((e) => e.action === 'oom').map((e) => e.eventId)).toEqual([dockerEvent(ooms[0]!).id]);
    expect(evidence.filter((e) => e.action === 'die').map((e) => e.exitCode)).toEqual([137]);
    expect(evidence.filter((e) => e.kind === 'kernel').map((e) => e.message)).toEqual([killLine.message]);
  });

  it('files the die the engine reported before the oom, and the kill line read after both', () => {
    const { classifier } = newClassifier();
    const [oom, die] = [recordedOom.find((e) => e.Action === 'oom')!, recordedOom.find((e) => e.Action === 'die')!];
    const events = [dockerEvent(die), dockerEvent(oom), kernelEvent(killLine, { id: ID, name: 'fp-rec-oom' })];
    const evidence = events.flatMap((e) => classifier.updatesFor(e)).flatMap((u) => (u.op === 'signal' ? [u.evidence] : []));
    expect(evidence.map((e) => e.action ?? e.kind)).toEqual(['oom', 'die', 'kernel']);
  });

  it('drops a die 137 that no occurrence takes within the hold (a plain SIGKILL)', () => {
    const { classifier } = newClassifier();
    const die = dockerEvent(recordedOom.find((e) => e.Action === 'die')!);
    const oomLater = dockerEvent(recordedOom.find((e) => e.Action === 'oom')!, undefined, 6000);
    const updates = [die, later(die.ts + 5500), oomLater].flatMap((e) => classifier.updatesFor(e));
    expect(updates.flatMap((u) => (u.op === 'signal' ? [u.evidence.action] : []))).toEqual(['oom']);
  });

  it('still recognizes each line alone when pasted (fineprint classify)', () => {
    const { classifier } = newClassifier();
    for (const record of [KMSG[SUMMARY]!, killLine]) {
      const event = parseLine(`${record.level},${record.seq},${record.tsUsec},-;${record.message}`, 'kmsg', { host: 'classify', lineNumber: 1 });
      expect(classifier.updatesFor(event!).map((u) => (u.op === 'signal' ? u.kbId : u.op))).toContain('oom-kill');
    }
  });
});
