// The collector's sources against a real dockerd and the host's real /dev/kmsg: what they read, that
// secrets stay out, and that a restart with the same cursors neither loses nor repeats anything.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { CollectorRecord, type ContainerFacts, type NormalizedEvent } from '../../shared/event.js';
import { createLogger } from '../../shared/log.js';
import { metricValue, MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import type { CursorStore, RecordSink } from '../../shared/transport.js';
import { createCollector, type SourceName } from '../../services/collector/index.js';
import { createContainerLogsSource } from '../../services/collector/sources/container-logs.js';
import { createDockerEventsSource } from '../../services/collector/sources/docker-events.js';
import { createHostProbeSource } from '../../services/collector/sources/host-probe.js';
import { decodePosition, rfc3339ToNanos } from '../../services/collector/position.js';
import { createKmsgSource } from '../../services/collector/sources/kmsg.js';
import type { SourceContext } from '../../services/collector/sources/source.js';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';

const docker = testDocker();
const PREFIX = `fp-collector-${process.pid}-`;
const MB = 1024 * 1024;
const ALLOCATE = ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'];
const log = createLogger('collector-e2e', process.env.FINEPRINT_LOG_LEVEL ?? 'warn');

class MemorySink implements RecordSink {
  readonly records: CollectorRecord[] = [];
  async send(records: CollectorRecord[]): Promise<void> {
    // The wire contract: every record the collector sends must pass the classifier's schema.
    for (const record of records) this.records.push(CollectorRecord.parse(record));
  }
  events(filter: (e: NormalizedEvent) => boolean = () => true): NormalizedEvent[] {
    return this.records.flatMap((r) => (r.type === 'event' && filter(r.event) ? [r.event] : []));
  }
  facts(containerId: string): ContainerFacts[] {
    return this.records.flatMap((r) => (r.type === 'facts' && r.facts.id === containerId ? [r.facts] : []));
  }
}

class MemoryCursors implements CursorStore {
  readonly values = new Map<string, string>();
  get(name: string) {
    return this.values.get(name);
  }
  set(name: string, value: string) {
    this.values.set(name, value);
  }
  delete(name: string) {
    this.values.delete(name);
  }
  names(prefix: string) {
    return [...this.values.keys()].filter((name) => name.startsWith(prefix));
  }
}

function context(sink: RecordSink, cursors: CursorStore): SourceContext {
  return { host: 'e2e-host', docker, sink, cursors, log, metrics: pipelineMetrics(new MetricsRegistry()) };
}

/** Something present now, polled (sources deliver asynchronously). */
const eventually = <T>(fn: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000) => waitFor(async () => fn(), timeoutMs, what);

/**
 * The barrier before "read exactly once": once a stopped container's last lines were read and taken
 * by the sink, container-logs moves its cursor (`logs:<id>`) to the container's FinishedAt, or leaves
 * it at its last line when the engine stamped that line later than FinishedAt (its log copier reads
 * the pipe after the process is gone), and no follow or drain reads it again.
 */
async function logsReadToTheEnd(cursors: CursorStore, container: Docker.Container): Promise<void> {
  const finishedAt = rfc3339ToNanos((await container.inspect()).State.FinishedAt);
  if (finishedAt === undefined) throw new Error(`${container.id} has not stopped`);
  await eventually(() => ((decodePosition(cursors.get(`logs:${container.id}`))?.t ?? -1n) >= finishedAt ? true : undefined), `the logs of ${container.id} read to their end`);
}

/**
 * The barrier before "nothing else arrived" on docker-events: Docker sends events in order and the
 * source handles them one after the other, so once the die of a container started now is in the
 * sink, every event before it has been delivered.
 */
async function eventsDeliveredUpToNow(sink: MemorySink, name: string): Promise<void> {
  const marker = await runContainer(docker, { name, cmd: ['sh', '-c', 'exit 0'] });
  await eventually(() => sink.events((e) => e.container?.id === marker.id && e.docker?.action === 'die')[0], `the die of the marker ${name}`);
}

async function collector(sink: RecordSink, cursors: CursorStore, sources: SourceName[], logAccept = (_m: string) => true) {
  const c = createCollector(context(sink, cursors), { kmsgPath: '/dev/kmsg', logAccept, probeIntervalMs: 1000, sources });
  await c.start();
  return c;
}

beforeAll(() => removeContainers(docker, PREFIX));
afterAll(() => removeContainers(docker, PREFIX));

describe('collector sources on a real Docker engine and /dev/kmsg', () => {
  it('an OOM kill gives oom, die 137, redacted facts first, and kernel lines attributed to the container', async () => {
    const sink = new MemorySink();
    const c = await collector(sink, new MemoryCursors(), ['docker-events', 'kmsg']);
    try {
      const name = `${PREFIX}oom`;
      const container = await runContainer(docker, { name, cmd: ALLOCATE, memory: 32 * MB, env: ['DB_PASSWORD=hunter2-secret'] });
      const id = container.id;
      const die = await eventually(() => sink.events((e) => e.container?.id === id && e.docker?.action === 'die')[0], 'the die event');
      expect(die).toMatchObject({ kind: 'docker', source: 'docker-events', exitCode: 137, container: { id, name } });
      expect(die.message).toContain(`container die ${id} (`);
      expect(die.message).toContain('exitCode=137');
      // The engine reports every memcg OOM notification: one kill can give several `oom` events.
      const oom = sink.events((e) => e.container?.id === id && e.docker?.action === 'oom');
      expect(oom.length).toBeGreaterThanOrEqual(1);
      expect(oom.every((e) => e.container?.name === name && e.ts <= die.ts)).toBe(true);

      // Facts travel before the event they explain, with the state after the kill.
      const dieIndex = sink.records.findIndex((r) => r.type === 'event' && r.event.id === die.id);
      const factsBefore = sink.records.slice(0, dieIndex).flatMap((r) => (r.type === 'facts' && r.facts.id === id ? [r.facts] : []));
      expect(factsBefore.length).toBeGreaterThan(0);
      expect(factsBefore.at(-1)).toMatchObject({
        name,
        limits: { memory: 33554432, memorySwap: 33554432 },
        networkMode: 'none',
        state: { oomKilled: true, exitCode: 137 },
      });
      expect(factsBefore.at(-1)?.env).toContain('DB_PASSWORD=[REDACTED]');

      const oomKill = await eventually(() => sink.events((e) => e.kind === 'kernel' && e.message.startsWith('oom-kill:') && e.message.includes(id))[0], 'the kernel oom-kill line');
      expect(oomKill.container?.id).toBe(id);
      expect(oomKill.kernel?.cgroupIds).toEqual([id]);
      const pid = /,pid=(\d+),/.exec(oomKill.message)?.[1];
      const killed = await eventually(() => sink.events((e) => e.kind === 'kernel' && e.message.includes(`Killed process ${pid} (`))[0], 'the Killed process line');
      expect(killed.container?.id).toBe(id);
      expect(killed.kernel?.cgroupIds).toBeUndefined();

      expect(JSON.stringify(sink.records)).not.toContain('hunter2-secret');
    } finally {
      await c.stop();
    }
  });

  it('kmsg reads a new line once, resumes after it, and skips the ring buffer unless backfilling', async () => {
    const token = randomBytes(6).toString('hex');
    const line = `fineprint-test ${token}: INFO: task kworker:123 blocked for more than 120 seconds.`;
    const cursors = new MemoryCursors();
    const first = new MemorySink();
    let source = createKmsgSource(context(first, cursors));
    await source.start();
    // The newline ends the record: without it the kernel keeps it open for a continuation and
    // readers see it only when the next record arrives.
    await writeFile('/dev/kmsg', `<3>${line}\n`);
    const event = await eventually(() => first.events((e) => e.message.includes(token))[0], 'the injected kernel line');
    expect(event).toMatchObject({ kind: 'kernel', source: 'kmsg', message: line, kernel: { level: 3, facility: 1 } });
    expect(event.id).toMatch(/^kmsg:[0-9a-f-]{36}:\d+$/);
    expect(Math.abs(event.ts - Date.now())).toBeLessThan(60_000);
    await source.stop();

    // Restart with the same cursors: the next line arrives, the first one does not again.
    const second = new MemorySink();
    source = createKmsgSource(context(second, cursors));
    await source.start();
    const token2 = randomBytes(6).toString('hex');
    await writeFile('/dev/kmsg', `<3>fineprint-test ${token2}: after restart\n`);
    await eventually(() => second.events((e) => e.message.includes(token2))[0], 'the line written after the restart');
    await source.stop();
    expect(second.events((e) => e.message.includes(token))).toEqual([]);

    // A first start skips what is already in the ring buffer; backfill reads it (same id).
    const fresh = new MemorySink();
    source = createKmsgSource(context(fresh, new MemoryCursors()));
    await source.start();
    await source.stop();
    expect(fresh.events((e) => e.message.includes(token))).toEqual([]);
    const backfilled = new MemorySink();
    source = createKmsgSource(context(backfilled, new MemoryCursors()), { backfill: true });
    await source.start();
    await source.stop();
    expect(backfilled.events((e) => e.message.includes(token)).map((e) => e.id)).toEqual([event.id]);

    // No device: an error, and a source that stays idle instead of failing the collector.
    const ctx = { ...context(new MemorySink(), new MemoryCursors()), log: createLogger('collector-e2e', 'silent') };
    source = createKmsgSource(ctx, { path: '/nonexistent/kmsg' });
    await source.start();
    await source.stop();
    expect(await metricValue(ctx.metrics.errors, { stage: 'receiving', error_type: 'kmsg_unavailable' })).toBe(1);
  });

  it('container-logs reads the line of a container that exits at once, exactly once across a restart', async () => {
    const cursors = new MemoryCursors();
    const accept = (m: string) => m.includes('No space left on device');
    const linesOf = (sink: MemorySink, id: string) => sink.events((e) => e.kind === 'log' && e.container?.id === id);

    const first = new MemorySink();
    let c = await collector(first, cursors, ['docker-events', 'container-logs'], accept);
    const quick = await runContainer(docker, { name: `${PREFIX}quick`, cmd: ['sh', '-c', 'echo ignored; echo No space left on device; exit 1'] });
    const line = await eventually(() => linesOf(first, quick.id)[0], 'the log line of the quick container');
    expect(line).toMatchObject({ source: 'container-logs', message: 'No space left on device', log: { stream: 'stdout' }, container: { id: quick.id, name: `${PREFIX}quick` } });
    expect(line.id).toMatch(new RegExp(`^log:${quick.id}:\\d+:stdout:0$`));
    expect(first.events((e) => e.message === 'ignored')).toEqual([]);
    await eventually(() => first.events((e) => e.container?.id === quick.id && e.docker?.action === 'die')[0], 'the die event');
    await logsReadToTheEnd(cursors, quick); // the follower's end and the drain after die have both run
    await c.stop();
    expect(linesOf(first, quick.id)).toHaveLength(1);

    // While the collector is down another container logs and exits; after the restart its line is
    // read once and the first container's line is not read again.
    const down = await runContainer(docker, { name: `${PREFIX}down`, cmd: ['sh', '-c', 'echo "write /data/x: No space left on device" >&2; exit 1'] });
    await down.wait();
    const second = new MemorySink();
    c = await collector(second, cursors, ['docker-events', 'container-logs'], accept);
    let stopped = false;
    try {
      const downLine = await eventually(() => linesOf(second, down.id)[0], 'the line logged while the collector was down');
      expect(downLine).toMatchObject({ message: 'write /data/x: No space left on device', log: { stream: 'stderr' } });
      await logsReadToTheEnd(cursors, down);
      // start() decided which stopped containers to read; stop() waits for those reads and flushes them.
      stopped = true;
      await c.stop();
      expect(linesOf(second, down.id)).toHaveLength(1);
      expect(linesOf(second, quick.id)).toEqual([]);
    } finally {
      if (!stopped) await c.stop();
    }
  });

  it('container-logs reads a container that no follower watched when it dies', async () => {
    // No follower slot at all: the only way to the line is the read after `die`.
    const sink = new MemorySink();
    const cursors = new MemoryCursors();
    const ctx = context(sink, cursors);
    const logs = createContainerLogsSource(ctx, { accept: () => true, maxFollowers: 0 });
    const events = createDockerEventsSource(ctx, { listener: { onEvent: (e) => logs.observe(e), onReconnect: () => logs.resync() } });
    await logs.start();
    await events.start();
    try {
      const container = await runContainer(docker, { name: `${PREFIX}unfollowed`, cmd: ['sh', '-c', 'echo one; echo two >&2; sleep 1; echo three; exit 1'] });
      await container.wait();
      await logsReadToTheEnd(cursors, container);
      // Docker copies stdout and stderr concurrently: their relative order in the log is not fixed.
      const lines = sink.events((e) => e.kind === 'log' && e.container?.id === container.id);
      expect(lines.map((e) => `${e.log?.stream} ${e.message}`).sort()).toEqual(['stderr two', 'stdout one', 'stdout three']);
    } finally {
      await events.stop();
      await logs.stop();
    }
  });

  it('container-logs deletes the cursor of a removed container, at its destroy and at start-up, and reads nothing twice', async () => {
    const cursors = new MemoryCursors();
    const token = randomBytes(6).toString('hex');
    const linesOf = (sink: MemorySink, id: string) => sink.events((e) => e.kind === 'log' && e.container?.id === id);
    const first = new MemorySink();
    let c = await collector(first, cursors, ['docker-events', 'container-logs'], (m) => m.includes(token));
    const removed = await runContainer(docker, { name: `${PREFIX}removed`, cmd: ['sh', '-c', `echo ${token}; exit 1`] });
    const afterRestart = await runContainer(docker, { name: `${PREFIX}removed-later`, cmd: ['sh', '-c', `echo ${token}; exit 1`] });
    const kept = await runContainer(docker, { name: `${PREFIX}kept`, cmd: ['sh', '-c', `echo ${token}; exit 1`] });
    for (const container of [removed, afterRestart, kept]) {
      await container.wait();
      await logsReadToTheEnd(cursors, container);
    }
    await removed.remove();
    await eventually(() => (cursors.get(`logs:${removed.id}`) === undefined ? true : undefined), 'the cursor of the removed container deleted');
    await c.stop();

    // Removed while the collector is down; restarted without docker-events (which would replay the
    // destroy), only the start-up sweep can delete its cursor.
    await afterRestart.remove();
    const second = new MemorySink();
    c = await collector(second, cursors, ['container-logs'], (m) => m.includes(token));
    try {
      await eventually(() => (cursors.get(`logs:${afterRestart.id}`) === undefined ? true : undefined), 'the cursor of the container removed while down deleted');
      expect(cursors.names('logs:')).toContain(`logs:${kept.id}`);
    } finally {
      // start() decided which stopped containers to read; stop() waits for those reads and flushes them.
      await c.stop();
    }
    for (const container of [removed, afterRestart, kept]) expect(linesOf(first, container.id).map((e) => e.message)).toEqual([token]);
    expect(second.events((e) => e.kind === 'log')).toEqual([]);
  });

  it('container-logs drops lines beyond the per-container rate and counts them', async () => {
    const sink = new MemorySink();
    const ctx = context(sink, new MemoryCursors());
    const logs = createContainerLogsSource(ctx, { accept: (m) => m.startsWith('line '), maxLinesPerSecond: 10 });
    const events = createDockerEventsSource(ctx, { listener: { onEvent: (e) => logs.observe(e), onReconnect: () => logs.resync() } });
    await logs.start();
    await events.start();
    try {
      const container = await runContainer(docker, {
        name: `${PREFIX}chatty`,
        cmd: ['sh', '-c', 'i=0; while [ $i -lt 50 ]; do echo "line $i"; i=$((i+1)); done'],
      });
      const discarded = () => metricValue(ctx.metrics.discarded, { source: 'container-logs', reason: 'rate_limit' });
      const accepted = () => sink.events((e) => e.kind === 'log' && e.container?.id === container.id).length;
      await eventually(async () => (accepted() + (await discarded()) === 50 ? true : undefined), 'all 50 lines accepted or discarded');
      // A burst of one second's worth, plus what refilled while the burst was read.
      expect(accepted()).toBeGreaterThanOrEqual(10);
      expect(accepted()).toBeLessThan(20);
    } finally {
      await events.stop();
      await logs.stop();
    }
  });

  it('docker-events delivers every die that happened while it was down, none twice', async () => {
    const cursors = new MemoryCursors();
    const first = new MemorySink();
    let source = createDockerEventsSource(context(first, cursors));
    await source.start();
    const before = await runContainer(docker, { name: `${PREFIX}before`, cmd: ['sh', '-c', 'exit 2'] });
    await eventually(() => first.events((e) => e.container?.id === before.id && e.docker?.action === 'die')[0], 'the die seen before the stop');
    await source.stop();

    const downIds: string[] = [];
    for (const n of [1, 2, 3]) {
      const container = await runContainer(docker, { name: `${PREFIX}down-${n}`, cmd: ['sh', '-c', 'exit 3'] });
      await container.wait();
      downIds.push(container.id);
    }

    const second = new MemorySink();
    source = createDockerEventsSource(context(second, cursors));
    await source.start();
    try {
      for (const id of downIds) {
        await eventually(() => second.events((e) => e.container?.id === id && e.docker?.action === 'die')[0], `the die of ${id}`);
      }
      await eventsDeliveredUpToNow(second, `${PREFIX}down-marker`);
      for (const id of downIds) {
        const dies = second.events((e) => e.container?.id === id && e.docker?.action === 'die');
        expect(dies.map((e) => e.exitCode)).toEqual([3]);
      }
      const ids = second.events().map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      // The die read before the stop is not sent again (Docker's `since` is inclusive).
      expect(second.events((e) => e.container?.id === before.id && e.docker?.action === 'die')).toEqual([]);
    } finally {
      await source.stop();
    }
  });

  it('host-probe reports zombies per container, log sizes and the data root', async () => {
    const name = `${PREFIX}zombie`;
    const container = await runContainer(docker, { name, cmd: ['sh', '-c', 'sleep 1 & exec sleep 1000'] });
    const sink = new MemorySink();
    const source = createHostProbeSource(context(sink, new MemoryCursors()), { intervalMs: 1000 });
    await source.start();
    try {
      const zombies = await eventually(
        // The child exits after a second: until then the reading may be 0.
        () => sink.events((e) => e.probe?.metric === 'container.zombies' && e.container?.id === container.id && (e.probe?.value ?? 0) >= 1)[0],
        'a container.zombies reading of at least 1',
      );
      expect(zombies.probe?.value).toBeGreaterThanOrEqual(1);
      expect(zombies.message).toBe(`${zombies.probe?.value === 1 ? '1 zombie process' : `${zombies.probe?.value} zombie processes`} in container ${name}`);
      const root = ((await docker.info()) as { DockerRootDir: string }).DockerRootDir;
      const disk = sink.events((e) => e.probe?.metric === 'disk.used_pct')[0];
      expect(disk?.probe).toMatchObject({ subject: root });
      expect(disk?.probe?.value).toBeGreaterThan(0);
      expect(disk?.probe?.value).toBeLessThanOrEqual(100);
      expect(sink.events((e) => e.probe?.metric === 'container.log_bytes' && e.container?.id === container.id)).not.toEqual([]);
    } finally {
      await source.stop();
    }
  });
});
