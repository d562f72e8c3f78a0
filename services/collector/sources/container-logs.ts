import type Docker from 'dockerode';
import { RECORD_VERSION, type NormalizedEvent } from '../../../shared/event.js';
import { cutText, redactText } from '../../../shared/redact.js';
import { Batcher } from '../batcher.js';
import { isNotFound } from '../../../shared/errors.js';
import { DOCKER_TIMEOUT_MS, inspectContainer, listContainers, sleep } from '../docker-api.js';
import { LineSplitter } from '../../../shared/line-splitter.js';
import { LastWordsRing, type TailLimits } from '../last-words.js';
import { LogDemuxer, parseTimestampedLine, type LogStreamName } from '../log-stream.js';
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

const NAME = 'container-logs';
/** Time up to which every container's logs were accounted for when the source last started. */
const WATERMARK_KEY = 'container-logs';
const CURSOR_PREFIX = 'logs:';
const cursorKey = (containerId: string) => `${CURSOR_PREFIX}${containerId}`;
const MAX_MESSAGE = 16384;
/**
 * Bytes kept of one log line: its timestamp and more than MAX_MESSAGE characters (at most 3 UTF-8
 * bytes each), so that the redactor still sees a cut line as cut. The rest of a longer line is
 * skipped: nothing downstream looks past MAX_MESSAGE.
 */
const MAX_LINE_BYTES = 64 + 4 * MAX_MESSAGE;
/** After `die`, how long a follower gets to deliver its last lines before it is cut and the rest fetched. */
const FOLLOWER_GRACE_MS = 2000;

export interface ContainerLogsOptions {
  /** Which lines become events (the classifier's log prefilter); the rest is read and dropped. */
  accept: (message: string) => boolean;
  /** Accepted lines per container per second (token bucket, burst of one second). Default 200. */
  maxLinesPerSecond?: number;
  /** Most containers followed at once; beyond it, logs are fetched when the container dies. Default 500. */
  maxFollowers?: number;
  /** What a dying container's last words keep (every line counts, accepted or not). Default 50 lines, 65536 characters; 0 lines: none. */
  lastWords?: TailLimits;
}

/**
 * Container logs for the detectors. It does not watch Docker events itself: the docker-events source
 * calls `observe` with each event (start -> follow, die -> drain the rest, destroy -> forget) and
 * `resync` after it reconnected. Without docker-events it follows the containers running at start.
 */
export interface ContainerLogsSource extends Source {
  observe(event: NormalizedEvent): void;
  resync(): void;
}

interface Tracked {
  id: string;
  name: string;
  image: string;
  tty: boolean;
  /** Newest line read (in memory; the cursor store gets it once the sink took the lines). */
  position: Position;
  follower: { abort: AbortController; done: Promise<void> } | undefined;
  /** Follows and drains of one container run one after the other. */
  chain: Promise<void>;
  tokens: number;
  refilledAt: number;
  /** The last lines it wrote, for its incident if it dies. */
  tail: LastWordsRing | undefined;
}

/** One read of a container's logs: dedupe boundary and the index of lines sharing a timestamp. */
interface Session {
  since: Position;
  last: Record<LogStreamName, { t: bigint; n: number }>;
}

export function createContainerLogsSource(ctx: SourceContext, options: ContainerLogsOptions): ContainerLogsSource {
  const { docker, log, metrics, cursors } = ctx;
  const rate = options.maxLinesPerSecond ?? 200;
  const maxFollowers = options.maxFollowers ?? 500;
  const tailLimits = options.lastWords ?? { lines: 50, chars: 65_536 };
  const batcher = new Batcher({ sink: ctx.sink, log, metrics });
  const tracked = new Map<string, Tracked>();
  let followers = 0;
  let cappedLogged = false;
  let watermark = 0n;
  let stopping = false;

  function takeToken(c: Tracked): boolean {
    const now = Date.now();
    c.tokens = Math.min(rate, c.tokens + ((now - c.refilledAt) / 1000) * rate);
    c.refilledAt = now;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  }

  function track(info: Docker.ContainerInspectInfo): Tracked {
    let c = tracked.get(info.Id);
    if (!c) {
      const saved = decodePosition(cursors.get(cursorKey(info.Id)));
      // Everything before the watermark was accounted for; storing it now makes a crash resume here.
      const position = saved ?? { t: watermark, seen: [] };
      if (!saved) cursors.set(cursorKey(info.Id), encodePosition(position));
      c = {
        id: info.Id,
        name: info.Name.replace(/^\//, ''),
        image: info.Config.Image,
        tty: info.Config.Tty,
        position,
        follower: undefined,
        chain: Promise.resolve(),
        tokens: rate,
        refilledAt: Date.now(),
        tail: tailLimits.lines > 0 && tailLimits.chars > 0 ? new LastWordsRing(tailLimits) : undefined,
      };
      tracked.set(info.Id, c);
    }
    return c;
  }

  function schedule(c: Tracked, task: () => Promise<void>): void {
    // Not started before stop(): the cursor was not advanced, the next start reads it.
    if (stopping) return;
    c.chain = c.chain.then(task).catch((err: unknown) => {
      if (isNotFound(err)) return;
      metrics.errors.inc({ stage: 'receiving', error_type: 'logs_failed' });
      log.warn({ err, containerId: c.id }, 'Could not read container logs.');
    });
  }

  function newSession(c: Tracked): Session {
    return { since: c.position, last: { stdout: { t: -1n, n: 0 }, stderr: { t: -1n, n: 0 } } };
  }

  function handleLine(c: Tracked, session: Session, stream: LogStreamName, line: string): void {
    const parsed = parseTimestampedLine(line);
    if (!parsed) {
      metrics.errors.inc({ stage: 'receiving', error_type: 'parse_failed' });
      return;
    }
    const last = session.last[stream];
    const index = last.t === parsed.t ? ++last.n : 0;
    if (index === 0) session.last[stream] = { t: parsed.t, n: 0 };
    const key = `${stream}:${index}`;
    if (isAtOrBefore(session.since, parsed.t, key)) return;
    c.position = advance(c.position, parsed.t, key);
    c.tail?.push(stream, parsed.message, parsed.t);
    // The filter sees what the event would keep, so its work per line is bounded too.
    const message = cutText(parsed.message, MAX_MESSAGE);
    if (!options.accept(message)) return;
    if (!takeToken(c)) {
      metrics.discarded.inc({ source: NAME, reason: 'rate_limit' });
      return;
    }
    metrics.received.inc({ source: NAME });
    batcher.push({
      type: 'event',
      event: {
        v: RECORD_VERSION,
        id: `log:${c.id}:${parsed.t}:${key}`,
        host: ctx.host,
        kind: 'log',
        source: NAME,
        ts: nanosToMs(parsed.t),
        message: redactText(parsed.message, MAX_MESSAGE),
        container: { id: c.id, name: c.name, image: c.image },
        log: { stream },
      },
    });
  }

  /** Feeds raw logs API bytes (multiplexed unless TTY) to a session; `end` flushes unterminated lines. */
  function reader(c: Tracked, session: Session) {
    const demuxer = c.tty ? undefined : new LogDemuxer();
    const splitterOf = (stream: LogStreamName) => new LineSplitter(MAX_LINE_BYTES, (line) => handleLine(c, session, stream, line));
    const splitters = { stdout: splitterOf('stdout'), stderr: splitterOf('stderr') };
    const before = c.position;
    const commit = () => {
      const position = c.position;
      if (position === before) return;
      batcher.commit(() => {
        cursors.set(cursorKey(c.id), encodePosition(position));
        metrics.cursorLag.set({ source: NAME }, Math.max(0, (Date.now() - nanosToMs(position.t)) / 1000));
      });
    };
    return {
      push(chunk: Buffer) {
        const frames = demuxer ? demuxer.push(chunk) : [{ stream: 'stdout' as const, data: chunk }];
        for (const frame of frames) splitters[frame.stream].push(frame.data);
        commit();
      },
      end() {
        splitters.stdout.end();
        splitters.stderr.end();
        commit();
      },
    };
  }

  /** Starts following; returns once the stream is open (it runs on until the container stops). */
  async function follow(c: Tracked): Promise<void> {
    if (c.follower || stopping) return;
    if (followers >= maxFollowers) {
      if (!cappedLogged) log.warn({ maxFollowers }, 'Too many containers to follow; the others are read when they exit.');
      cappedLogged = true;
      return;
    }
    // Registered before the request, so stop() and drain() can abort a request that hangs.
    const abort = new AbortController();
    let ended!: () => void;
    const follower = { abort, done: new Promise<void>((resolve) => (ended = resolve)) };
    c.follower = follower;
    followers++;
    const session = newSession(c);
    const read = reader(c, session);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      // An aborted stream may stop mid-line: that line is read again, whole, by the next read.
      if (!abort.signal.aborted) read.end();
      followers--;
      if (followers < maxFollowers) cappedLogged = false;
      if (c.follower === follower) c.follower = undefined;
      ended();
    };
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.getContainer(c.id).logs({
        follow: true,
        stdout: true,
        stderr: true,
        timestamps: true,
        since: nanosToSince(session.since.t),
        abortSignal: abort.signal,
      });
    } catch (err) {
      finish();
      if (abort.signal.aborted) return;
      throw err;
    }
    stream.on('data', (chunk: Buffer) => read.push(chunk));
    stream.on('error', (err: Error) => {
      if (!abort.signal.aborted) log.warn({ err, containerId: c.id }, 'A container log stream failed.');
      finish();
    });
    stream.on('end', finish);
    stream.on('close', finish);
  }

  /** Reads what the container logged since the position, up to now (after it exited: up to its end). */
  async function drain(c: Tracked): Promise<void> {
    const follower = c.follower;
    if (follower) {
      await Promise.race([follower.done, sleep(FOLLOWER_GRACE_MS)]);
      follower.abort.abort();
      await follower.done;
    }
    const info = await inspectContainer(docker, c.id);
    if (!info) return;
    const session = newSession(c);
    const buffer = await docker.getContainer(c.id).logs({
      follow: false,
      stdout: true,
      stderr: true,
      timestamps: true,
      since: nanosToSince(session.since.t),
      abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS),
    });
    const read = reader(c, session);
    read.push(buffer);
    read.end();
    // A container that stopped logs nothing more until it starts again: record that its run was read
    // completely, so the next start-up does not fetch its logs again.
    const finishedAt = rfc3339ToNanos(info.State.FinishedAt);
    if (!info.State.Running && finishedAt !== undefined && finishedAt > c.position.t) {
      const position: Position = { t: finishedAt, seen: [] };
      c.position = position;
      batcher.commit(() => cursors.set(cursorKey(c.id), encodePosition(position)));
    }
  }

  /**
   * After a container died: reads the rest of its logs, then sends its last words (if it wrote any)
   * for the classifier to join to its incident. A clean exit (code 0) sends none.
   */
  async function farewell(c: Tracked, die: NormalizedEvent): Promise<void> {
    try {
      await drain(c);
    } finally {
      const tail = c.tail?.take();
      if (tail && die.exitCode !== 0) {
        batcher.push({
          type: 'lastWords',
          lastWords: { v: RECORD_VERSION, host: ctx.host, container: { id: c.id, name: c.name, image: c.image }, ts: die.ts, ...tail },
        });
      }
    }
  }

  async function withInfo(id: string, task: (c: Tracked) => Promise<void>): Promise<void> {
    const known = tracked.get(id);
    if (known) return schedule(known, () => task(known));
    const info = await inspectContainer(docker, id);
    if (info) {
      const c = track(info);
      schedule(c, () => task(c));
    }
  }

  /**
   * Once a container is destroyed its logs are gone: after the reads already scheduled (its last
   * lines sent first), it is no longer tracked and its cursor is deleted.
   */
  function forget(id: string): void {
    const c = tracked.get(id);
    const deleteCursor = () => batcher.commit(() => cursors.delete(cursorKey(id)));
    if (!c) return deleteCursor();
    void c.chain.then(() => {
      tracked.delete(id);
      deleteCursor();
    });
  }

  /** Follows every running container and drains those that stopped since their cursor. */
  async function sync(): Promise<void> {
    const containers = await listContainers(docker, { all: true });
    // Cursors of containers destroyed while the collector was down. A tracked container may be newer
    // than the list (its cursor set since): its destroy event forgets it.
    const listed = new Set(containers.map((summary) => summary.Id));
    for (const name of cursors.names(CURSOR_PREFIX)) {
      const id = name.slice(CURSOR_PREFIX.length);
      if (!listed.has(id) && !tracked.has(id)) forget(id);
    }
    for (const summary of containers) {
      if (summary.State === 'running') {
        await withInfo(summary.Id, follow);
        continue;
      }
      const info = await inspectContainer(docker, summary.Id);
      const finishedAt = info ? rfc3339ToNanos(info.State.FinishedAt) : undefined;
      if (!info || finishedAt === undefined) continue;
      const position = tracked.get(info.Id)?.position ?? decodePosition(cursors.get(cursorKey(info.Id)));
      if (finishedAt > (position?.t ?? watermark)) {
        const c = track(info);
        schedule(c, () => drain(c));
      }
    }
  }

  const up = (): void => metrics.sourceUp.set({ source: NAME }, 1);
  const down = (): void => {
    metrics.errors.inc({ stage: 'receiving', error_type: 'list_failed' });
    metrics.sourceUp.set({ source: NAME }, 0);
  };

  function syncInBackground(): void {
    sync().then(up, (err: unknown) => {
      down();
      log.warn({ err }, 'Could not list containers to follow their logs.');
    });
  }

  return {
    name: NAME,
    async start() {
      const startedAt = nowNanos();
      watermark = decodePosition(cursors.get(WATERMARK_KEY))?.t ?? startedAt;
      try {
        await sync();
        up();
        cursors.set(WATERMARK_KEY, encodePosition({ t: startedAt, seen: [] }));
      } catch (err) {
        down();
        log.warn({ err }, 'Could not list containers to follow their logs; waiting for Docker events.');
      }
    },
    observe(event) {
      const id = event.container?.id;
      const action = event.docker?.action;
      if (!id || stopping || event.docker?.type !== 'container') return;
      const run = (task: (c: Tracked) => Promise<void>) =>
        withInfo(id, task).catch((err: unknown) => {
          if (!isNotFound(err)) log.warn({ err, containerId: id }, 'Could not inspect a container to read its logs.');
        });
      if (action === 'start') void run(follow);
      else if (action === 'die') void run((c) => farewell(c, event));
      else if (action === 'destroy') forget(id);
    },
    resync() {
      if (!stopping) syncInBackground();
    },
    async stop() {
      stopping = true;
      for (const c of tracked.values()) c.follower?.abort.abort();
      await Promise.all([...tracked.values()].map((c) => c.chain));
      await Promise.all([...tracked.values()].map((c) => c.follower?.done));
      await batcher.close();
    },
  };
}
