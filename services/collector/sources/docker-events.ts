import type Docker from 'dockerode';
import { RECORD_VERSION, type NormalizedEvent } from '../../../shared/event.js';
import type { MemoryCurve } from '../../../shared/memory-curve.js';
import { redactText } from '../../../shared/redact.js';
import { Batcher } from '../batcher.js';
import { DOCKER_TIMEOUT_MS, inspectContainer, listContainers, sleep } from '../docker-api.js';
import { createAuditor } from '../audit-on-start.js';
import { containerFacts, redactValues } from '../facts.js';
import { CompactJsonReader, EVENT_POLICY } from '../compact-json.js';
import {
  advance,
  decodePosition,
  encodePosition,
  isAtOrBefore,
  nanosToMs,
  nanosToSince,
  nowNanos,
  rfc3339ToNanos,
  type Position,
} from '../position.js';
import type { Source, SourceContext } from './source.js';

const NAME = 'docker-events';
const CURSOR_KEY = 'docker-events';
/** Actions after which the container's facts may have changed; they are sent before the event. */
const FACTS_ACTIONS = new Set(['create', 'start', 'die', 'oom', 'health_status', 'update']);
/** The daemon replays at most 256 events; remembering more ids makes any replay after a reconnect a no-op. */
const RECENT_IDS = 4096;
const MAX_MESSAGE = 16384;

/** Who else wants to know about container events (the container-logs source). */
export interface DockerEventsListener {
  /** Called for every event after it was queued for the sink (live, replayed for the first time, or reconciled). */
  onEvent(event: NormalizedEvent): void;
  /** Called after each reconnect (not the first connect): events may have been missed meanwhile. */
  onReconnect(): void;
  /** Called with each container inspect (on create, start, die, oom... and when reconciling). */
  onInspect?(info: Docker.ContainerInspectInfo): void;
}

export interface DockerEventsOptions {
  listener?: DockerEventsListener;
  /**
   * Audit each container that starts (and everything after each connect) and send its findings as
   * risk records; they also ride along with its facts. Default true.
   */
  auditOnStart?: boolean;
  /** Re-audit every running container and the daemon this often, ms; 0: only after each connect. Default 1 h. */
  auditIntervalMs?: number;
  /** Longest pause between reconnect attempts, ms. Default 5000. */
  maxBackoffMs?: number;
  /** The container's memory readings up to an OOM kill, attached to its `oom` event. */
  memoryCurve?: (containerId: string, killTs: number) => MemoryCurve | undefined;
}

/** The fields of an Engine API event this source reads; `timeNano` is taken from the raw line. */
interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

type WorkItem =
  | { kind: 'event'; raw: RawEvent; t: bigint }
  | { kind: 'reconcile'; since: bigint; replayedDies: Promise<Set<string>>; connected: () => void }
  | { kind: 'audit' };

/** What a failed work item counts as and logs. */
const FAILURES: Record<WorkItem['kind'], [errorType: string, message: string]> = {
  event: ['event_failed', 'Could not process a Docker event.'],
  reconcile: ['reconcile_failed', 'Could not reconcile containers after connecting.'],
  audit: ['audit_failed', 'Could not re-audit the containers and the daemon.'],
};

function render(type: string, action: string, id: string, attributes: Record<string, string>): string {
  const attrs = Object.keys(attributes)
    .sort()
    .map((key) => `${key}=${attributes[key]}`)
    .join(', ');
  return `${type} ${action} ${id}${attrs ? ` (${attrs})` : ''}`.slice(0, MAX_MESSAGE);
}

/**
 * Streams Docker Engine container events. The stream is never paused (the daemon drops events of a
 * subscriber that does not read for 100 ms): lines are parsed and queued, and a single worker
 * inspects (for facts) and hands records to a batcher. The cursor (last timeNano + ids seen at that
 * exact time, because `since` is inclusive) advances only after the sink accepted the records.
 *
 * After every (re)connect it reconciles from listContainers + inspect: facts for every container,
 * and a synthesized `oom`/`die` for containers that finished after the cursor and whose `die` the
 * daemon no longer replays (it keeps 256 events, and none across its own restart).
 */
export function createDockerEventsSource(ctx: SourceContext, options: DockerEventsOptions = {}): Source {
  const { docker, log, metrics, cursors } = ctx;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const batcher = new Batcher({ sink: ctx.sink, log, metrics });
  /** Where this process started: replayed events at or before it were sent by an earlier run. */
  let startPosition: Position | undefined;
  /** Newest event read; a reconnect resumes here. */
  let position: Position;
  const recent = new Set<string>();
  const auditor = options.auditOnStart === false ? undefined : createAuditor(docker, ctx.host, log);
  let auditTimer: NodeJS.Timeout | undefined;
  const queue: WorkItem[] = [];
  let working: Promise<void> | undefined;
  let stopping = false;
  const stopSignal = new AbortController();
  let loop: Promise<void> | undefined;

  function remember(id: string): void {
    recent.add(id);
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value as string);
  }

  function kick(): void {
    working ??= work().finally(() => {
      working = undefined;
      if (queue.length > 0) kick();
    });
  }

  function enqueue(item: WorkItem): void {
    queue.push(item);
    kick();
  }

  async function work(): Promise<void> {
    for (let item = queue.shift(); item; item = queue.shift()) {
      try {
        if (item.kind === 'event') await handleEvent(item.raw, item.t);
        else if (item.kind === 'audit') await reaudit();
        else await reconcile(item.since, item.replayedDies);
      } catch (err) {
        const [errorType, message] = FAILURES[item.kind];
        metrics.errors.inc({ stage: 'processing', error_type: errorType });
        log.error({ err }, message);
      } finally {
        if (item.kind === 'reconcile') item.connected();
      }
    }
  }

  async function sendFacts(containerId: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      const info = await inspectContainer(docker, containerId);
      if (info) {
        const facts = containerFacts(ctx.host, info);
        batcher.push({ type: 'facts', facts: auditor ? { ...facts, risks: await auditor.findings(info) } : facts });
        options.listener?.onInspect?.(info);
      }
      return info;
    } catch (err) {
      metrics.errors.inc({ stage: 'processing', error_type: 'inspect_failed' });
      log.warn({ err, containerId }, 'Could not inspect a container; its event is sent without fresh facts.');
      return undefined;
    }
  }

  function emit(event: NormalizedEvent, commit?: Position): void {
    remember(event.id);
    batcher.push({ type: 'event', event });
    metrics.received.inc({ source: NAME });
    if (commit) {
      batcher.commit(() => {
        cursors.set(CURSOR_KEY, encodePosition(commit));
        metrics.cursorLag.set({ source: NAME }, Math.max(0, (Date.now() - event.ts) / 1000));
      });
    }
    options.listener?.onEvent(event);
  }

  async function handleEvent(raw: RawEvent, t: bigint): Promise<void> {
    const type = raw.Type ?? 'container';
    const action = redactText(raw.Action ?? '');
    const actorId = raw.Actor?.ID ?? '';
    const id = `docker:${t}:${action.slice(0, 80)}:${actorId}`.slice(0, 200);
    if (isAtOrBefore(startPosition, t, id) || recent.has(id)) return;
    position = advance(position, t, id);
    const attributes = redactValues(raw.Actor?.Attributes);
    const baseAction = action.split(':')[0] ?? action;
    const isContainer = /^[0-9a-f]{64}$/.test(actorId);
    const inspected = isContainer && FACTS_ACTIONS.has(baseAction) ? await sendFacts(actorId) : undefined;
    if (auditor && inspected && baseAction === 'start') batcher.push({ type: 'risks', risks: await auditor.container(inspected, nanosToMs(t)) });
    if (auditor && isContainer && baseAction === 'destroy') {
      const removed = { id: actorId, name: attributes.name ?? '', image: attributes.image ?? '' };
      batcher.push({ type: 'risks', risks: auditor.removed(removed, nanosToMs(t)) });
    }
    const exitCode = baseAction === 'die' ? Number.parseInt(attributes.exitCode ?? '', 10) : Number.NaN;
    const memoryCurve = isContainer && baseAction === 'oom' ? options.memoryCurve?.(actorId, nanosToMs(t)) : undefined;
    emit(
      {
        v: RECORD_VERSION,
        id,
        host: ctx.host,
        kind: 'docker',
        source: NAME,
        ts: nanosToMs(t),
        message: render(type, action, actorId, attributes),
        ...(isContainer
          ? {
              container: {
                id: actorId,
                ...(attributes.name ? { name: attributes.name } : {}),
                ...(attributes.image ? { image: attributes.image } : {}),
              },
            }
          : {}),
        docker: { type, action, attributes },
        ...(Number.isInteger(exitCode) ? { exitCode } : {}),
        ...(memoryCurve ? { memoryCurve } : {}),
      },
      { ...position },
    );
  }

  /** Container ids with a `die` the daemon still has since `since` (they arrive through the stream). */
  async function replayedDies(since: bigint): Promise<Set<string>> {
    const stream = await docker.getEvents({
      since: nanosToSince(since),
      // until in the past: the daemon sends what it kept and closes the stream.
      until: nanosToSince(nowNanos()),
      filters: { type: ['container'], event: ['die'] },
      abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS),
    } as unknown as Docker.GetEventsOptions);
    const ids = new Set<string>();
    const reader = new CompactJsonReader(EVENT_POLICY);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const line of reader.push(chunk)) {
        if ('error' in line) throw new Error(`Unreadable replayed die event: ${line.error}.`);
        const id = (JSON.parse(line.json) as RawEvent).Actor?.ID;
        if (id) ids.add(id);
      }
    }
    return ids;
  }

  async function reconcile(since: bigint, dies: Promise<Set<string>>): Promise<void> {
    const replayed = await dies.catch((err: unknown) => {
      log.warn({ err }, 'Could not read the replayed die events; reconciling every container that finished since the cursor.');
      return new Set<string>();
    });
    const listedAt = Date.now();
    const containers = await listContainers(docker, { all: true });
    const inspected: Docker.ContainerInspectInfo[] = [];
    await reconcileContainers(containers, inspected, since, replayed);
    await sendPosture(inspected, containers, listedAt);
  }

  /**
   * Sends the audit of the daemon and every running container, and which containers exist, as of
   * `listedAt` (taken before the listing): a container started since is audited at its own start,
   * later, and its risks are never taken for those of a container removed unseen.
   */
  async function sendPosture(inspected: readonly Docker.ContainerInspectInfo[], containers: readonly Docker.ContainerInfo[], listedAt: number): Promise<void> {
    if (!auditor) return;
    for (const risks of await auditor.posture(inspected, containers.map((c) => c.Id), listedAt)) batcher.push({ type: 'risks', risks });
  }

  /** The periodic audit: every running container and the daemon. */
  async function reaudit(): Promise<void> {
    const listedAt = Date.now();
    const containers = await listContainers(docker, { all: true });
    const inspected: Docker.ContainerInspectInfo[] = [];
    for (const summary of containers) {
      if (summary.State !== 'running') continue;
      // Removed since the listing: nothing to audit (inspectContainer answers undefined).
      const info = await inspectContainer(docker, summary.Id);
      if (info) inspected.push(info);
    }
    await sendPosture(inspected, containers, listedAt);
  }

  async function reconcileContainers(containers: readonly Docker.ContainerInfo[], inspected: Docker.ContainerInspectInfo[], since: bigint, replayed: Set<string>): Promise<void> {
    for (const summary of containers) {
      const info = await sendFacts(summary.Id);
      if (info) inspected.push(info);
      const finishedAt = info ? rfc3339ToNanos(info.State.FinishedAt) : undefined;
      if (!info || finishedAt === undefined || finishedAt <= since || replayed.has(info.Id)) continue;
      const name = info.Name.replace(/^\//, '');
      const image = info.Config.Image;
      const synthesize = (action: 'oom' | 'die', extra: Record<string, string>) => {
        const attributes = { ...extra, image, name, reconciled: 'true' };
        const event: NormalizedEvent = {
          v: RECORD_VERSION,
          id: `reconcile:${info.Id}:${info.State.FinishedAt}:${action}`,
          host: ctx.host,
          kind: 'docker',
          source: NAME,
          ts: nanosToMs(finishedAt),
          message: render('container', action, info.Id, attributes),
          container: { id: info.Id, name, image },
          docker: { type: 'container', action, attributes },
          ...(action === 'die' ? { exitCode: info.State.ExitCode } : {}),
          reconciled: true,
        };
        if (!recent.has(event.id)) emit(event);
      };
      if (info.State.OOMKilled) synthesize('oom', {});
      synthesize('die', { exitCode: String(info.State.ExitCode) });
    }
  }

  /** One connection: resolves when the stream ends (daemon gone, restarted) or stop() aborts it. */
  async function connect(first: boolean, connected: () => void): Promise<void> {
    const since = position.t;
    const stream = await docker.getEvents({
      since: nanosToSince(since),
      filters: { type: ['container'] },
      abortSignal: stopSignal.signal,
    } as unknown as Docker.GetEventsOptions);
    log.info({ since: nanosToSince(since) }, 'Following Docker events.');
    metrics.sourceUp.set({ source: NAME }, 1);
    // Queued before any event of this stream, so reconciled records precede the live ones.
    enqueue({ kind: 'reconcile', since, replayedDies: replayedDies(since), connected });
    if (!first) options.listener?.onReconnect();
    const reader = new CompactJsonReader(EVENT_POLICY);
    await new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        for (const line of reader.push(chunk)) {
          try {
            if ('error' in line) throw new Error(line.error);
            // timeNano exceeds Number.MAX_SAFE_INTEGER: read it from the text, never through JSON.parse.
            const timeNano = /"timeNano":(\d+)/.exec(line.json)?.[1];
            if (!timeNano) throw new Error('event without timeNano');
            enqueue({ kind: 'event', raw: JSON.parse(line.json) as RawEvent, t: BigInt(timeNano) });
          } catch (err) {
            metrics.errors.inc({ stage: 'receiving', error_type: 'parse_failed' });
            log.warn({ err, line: 'json' in line ? redactText(line.json, 200) : undefined }, 'Skipped an unreadable Docker event line.');
          }
        }
      });
      stream.on('error', (err: Error) => {
        if (!stopping) log.warn({ err }, 'The Docker events stream failed.');
        resolve();
      });
      stream.on('end', resolve);
      stream.on('close', resolve);
    });
  }

  async function run(firstConnected: () => void): Promise<void> {
    let failures = 0;
    for (let connections = 0; !stopping; ) {
      try {
        await connect(connections === 0, firstConnected);
        connections++;
        failures = 0;
        metrics.sourceUp.set({ source: NAME }, 0);
        if (!stopping) log.warn('The Docker events stream ended; reconnecting.');
      } catch (err) {
        if (stopping) break;
        failures++;
        metrics.errors.inc({ stage: 'receiving', error_type: 'connect_failed' });
        metrics.sourceUp.set({ source: NAME }, 0);
        log[failures === 1 ? 'warn' : 'debug']({ err, attempt: failures }, 'Cannot reach the Docker events API; retrying.');
        // start() does not wait for a daemon that is down: the source keeps retrying in the background.
        firstConnected();
      }
      if (!stopping) await sleep(Math.min(maxBackoffMs, 250 * 2 ** failures), stopSignal.signal);
    }
  }

  return {
    name: NAME,
    async start() {
      startPosition = decodePosition(cursors.get(CURSOR_KEY));
      if (startPosition) {
        position = startPosition;
      } else {
        // First run: start at now and say so, so that a restart before the first event resumes here.
        position = { t: nowNanos(), seen: [] };
        cursors.set(CURSOR_KEY, encodePosition(position));
      }
      await new Promise<void>((resolve) => {
        loop = run(resolve);
      });
      const interval = options.auditIntervalMs ?? 3_600_000;
      if (auditor && interval > 0) {
        auditTimer = setInterval(() => enqueue({ kind: 'audit' }), interval);
        auditTimer.unref();
      }
    },
    async stop() {
      clearInterval(auditTimer);
      stopping = true;
      stopSignal.abort();
      await loop;
      while (working) await working;
      await batcher.close();
    },
  };
}
