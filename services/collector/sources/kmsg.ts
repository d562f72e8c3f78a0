import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { constants, type FileHandle, open, readFile } from 'node:fs/promises';
import { uptime } from 'node:os';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { type ContainerRef, RECORD_VERSION } from '../../../shared/event.js';
import { redactText } from '../../../shared/redact.js';
import { Batcher } from '../batcher.js';
import { containerFacts } from '../facts.js';
import { inspectContainer, sleep } from '../docker-api.js';
import { type AttributedRecord, OomReportAttributor, parseKmsgRecord, REPORT_HOLD_USEC } from '../../../shared/kmsg/record.js';
import { type ContainerMemory, memoryUsersAt } from '../memory-users.js';
import type { Source, SourceContext } from './source.js';

const NAME = 'kmsg';
const CURSOR_KEY = 'kmsg';
/** One read() returns one record; smaller buffers get EINVAL for long records. */
const RECORD_BUFFER_BYTES = 8192;
const MAX_MESSAGE = 16384;
/** Pause before starting the reader again after it failed (not after an overwritten-records gap). */
const READER_RETRY_MS = 1000;
/** A chunk of the reader's output without a newline this long is not kmsg: it is dropped. */
const MAX_PENDING_CHARS = 65_536;

export interface KmsgOptions {
  /** Kernel message device. Default /dev/kmsg. */
  path?: string;
  /** Without a cursor for this boot, also read the records already in the ring buffer. Default false. */
  backfill?: boolean;
  /** Where the host's /proc is mounted (the containers of a global OOM's biggest processes). Default /proc. */
  procPath?: string;
  /** The collector's latest memory reading of each container, named at a global OOM. Default: none. */
  containerMemory?: () => readonly ContainerMemory[];
}

/** The kmsg source; it also learns the host pid of each container's PID 1 from Docker's inspects. */
export interface KmsgSource extends Source {
  /** An inspect result (from the docker-events source): a running container's PID 1, or its end. */
  observeContainer(info: Pick<Docker.ContainerInspectInfo, 'Id' | 'State'>): void;
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** `<boot_id>:<seq>` */
function parseCursor(value: string | undefined): { bootId: string; seq: number } | undefined {
  const m = /^(.+):(\d+)$/.exec(value ?? '');
  return m?.[1] && m[2] ? { bootId: m[1], seq: Number(m[2]) } : undefined;
}

/**
 * Kernel messages from /dev/kmsg. Like journald, the cursor is the boot id plus the last sequence
 * number: a restart in the same boot resumes after it, and sequence gaps (EPIPE: records
 * overwritten before they were read) are counted.
 *
 * The records already there are read at start through a non-blocking descriptor, until EAGAIN.
 * After that, waiting for the next record costs nothing only as a blocking read, and a read blocked
 * in the kernel cannot be interrupted: in a worker thread or the libuv pool it would hold up the
 * process's exit until the next kernel line. So a `cat` child blocks on the device instead (a
 * descriptor of its own, starting at the oldest record: what was read at start is skipped by
 * sequence number) and writes each record as one line to a pipe; stop() kills it at once. On EPIPE
 * cat exits and is started again on the same descriptor, which the kernel moved past the gap.
 */
export function createKmsgSource(ctx: SourceContext, options: KmsgOptions = {}): KmsgSource {
  const { log, metrics, cursors } = ctx;
  const path = options.path ?? '/dev/kmsg';
  const batcher = new Batcher({ sink: ctx.sink, log, metrics });
  const attributor = new OomReportAttributor();
  const buffer = Buffer.alloc(RECORD_BUFFER_BYTES);
  const stopSignal = new AbortController();
  /** The blocking descriptor the reader child reads; kept across its restarts. */
  let handle: FileHandle | undefined;
  let loop: Promise<void> | undefined;
  /** A held OOM report's release, while one is held. */
  let expiryTimer: NodeJS.Timeout | undefined;
  let bootId = 'unknown';
  let bootTimeMs = 0;
  let lastSeq: number | undefined;
  /** Sequence number the cursor was last set to. */
  let committedSeq: number | undefined;
  /** Time of the newest record read, ms since the epoch. */
  let newestTs = 0;
  /** Records in the ring buffer at start are skipped unless resuming or backfilling. */
  let skipBeforeUsec = -1;

  const known = new Map<string, ContainerRef>();
  /** Containers the docker-events source inspected (observeContainer): it has sent their facts. */
  const inspectedByEvents = new Set<string>();
  /**
   * Kernel lines name a container only by its cgroup id. The name is looked up here, on the host,
   * so the line groups with the Docker events of the same container. A line can be read before the
   * docker-events source, which works through events one at a time, got to the container's
   * `create`: then the facts of this inspect go first, so the incident the line files has them.
   */
  async function describe(id: string): Promise<ContainerRef> {
    const cached = known.get(id);
    if (cached) return cached;
    const info = await inspectContainer(ctx.docker, id).catch(() => undefined);
    if (!info) return { id };
    if (!inspectedByEvents.has(info.Id)) batcher.push({ type: 'facts', facts: containerFacts(ctx.host, info) });
    const ref = { id: info.Id, name: info.Name.replace(/^\//, ''), image: info.Config.Image };
    // Bounded: a host runs far fewer containers than this between two OOM reports.
    if (known.size >= 1024) known.clear();
    known.set(id, ref);
    return ref;
  }

  async function handleRecord(text: string): Promise<void> {
    const record = parseKmsgRecord(text);
    if (!record) {
      metrics.errors.inc({ stage: 'receiving', error_type: 'parse_failed' });
      return;
    }
    if (lastSeq !== undefined) {
      if (record.seq <= lastSeq) return;
      const lost = record.seq - lastSeq - 1;
      if (lost > 0) {
        metrics.kmsgGap.inc({}, lost);
        log.warn({ lost, after: lastSeq }, 'Kernel records were overwritten before they were read.');
      }
    }
    lastSeq = record.seq;
    newestTs = Math.round(bootTimeMs + record.tsUsec / 1000);
    for (const attributed of attributor.push(record)) await send(attributed);
  }

  async function send({ record, cgroupIds, containerId, globalOomTasks }: AttributedRecord): Promise<void> {
    if (record.tsUsec <= skipBeforeUsec) return;
    metrics.received.inc({ source: NAME });
    const ts = Math.round(bootTimeMs + record.tsUsec / 1000);
    const container = containerId ? await describe(containerId) : undefined;
    const memoryUsers = globalOomTasks
      ? await memoryUsersAt(globalOomTasks, { procPath: options.procPath ?? '/proc', containerMemory: options.containerMemory ?? (() => []), describe })
      : undefined;
    batcher.push({
      type: 'event',
      event: {
        v: RECORD_VERSION,
        id: `kmsg:${bootId}:${record.seq}`,
        host: ctx.host,
        kind: 'kernel',
        source: NAME,
        ts,
        message: redactText(record.message, MAX_MESSAGE),
        ...(container ? { container } : {}),
        kernel: {
          seq: record.seq,
          level: record.level,
          facility: record.facility,
          ...(cgroupIds.length > 0 ? { cgroupIds } : {}),
        },
        ...(memoryUsers ? { memoryUsers } : {}),
      },
    });
  }

  /** Reads every record available now from a non-blocking descriptor. */
  async function readAvailable(fd: FileHandle): Promise<void> {
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await fd.read(buffer, 0, buffer.length, null));
      } catch (err) {
        if (errorCode(err) === 'EAGAIN') break;
        // The reader was moved to the oldest record still there; the sequence gap says how many were lost.
        if (errorCode(err) === 'EPIPE') continue;
        throw err;
      }
      if (bytesRead === 0) break;
      await handleRecord(buffer.toString('utf8', 0, bytesRead));
    }
    await settle();
  }

  /** Releases the OOM reports held too long and moves the cursor after what was handled. */
  async function settle(): Promise<void> {
    for (const attributed of attributor.expire(nowUsec())) await send(attributed);
    clearTimeout(expiryTimer);
    expiryTimer = undefined;
    // A report still held is read again after a restart: the cursor stops before it.
    const held = attributor.oldestHeldSeq;
    if (held !== undefined && !stopSignal.signal.aborted) {
      // The next record usually completes it; this releases it when none comes.
      expiryTimer = setTimeout(() => void settle().catch((err: unknown) => log.error({ err }, 'Releasing a held kernel report failed.')), REPORT_HOLD_USEC / 1000 + 100);
      expiryTimer.unref();
    }
    const seq = held === undefined ? lastSeq : held - 1;
    if (seq === undefined || seq === committedSeq) return;
    committedSeq = seq;
    const newest = newestTs;
    batcher.commit(() => {
      cursors.set(CURSOR_KEY, `${bootId}:${seq}`);
      metrics.cursorLag.set({ source: NAME }, Math.max(0, (Date.now() - newest) / 1000));
    });
  }

  /**
   * One run of the reader child on `fd` until it exits: each line of its output that starts a
   * record is one record (a record's dictionary lines start with a space; its message has no
   * newline, the kernel escapes it). Resolves with what cat said on stderr.
   */
  async function readThroughChild(fd: FileHandle): Promise<{ code: number | null; stderr: string }> {
    const child = spawn('cat', [], { stdio: [fd.fd, 'pipe', 'pipe'] }) as ChildProcessByStdio<null, Readable, Readable>;
    const kill = () => child.kill();
    stopSignal.signal.addEventListener('abort', kill);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-1000)));
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (err) => {
        stderr += err.message;
        resolve(null);
      });
      child.once('close', (code) => resolve(code));
    });
    let pending = '';
    try {
      for await (const chunk of child.stdout.setEncoding('utf8') as AsyncIterable<string>) {
        const text = pending + chunk;
        const end = text.lastIndexOf('\n');
        pending = text.slice(end + 1);
        if (pending.length > MAX_PENDING_CHARS) pending = '';
        if (end < 0) continue;
        for (const line of text.slice(0, end).split('\n')) if (line !== '' && line[0] !== ' ') await handleRecord(line);
        await settle();
        if (failing) {
          failing = false;
          metrics.sourceUp.set({ source: NAME }, 1);
        }
      }
    } finally {
      stopSignal.signal.removeEventListener('abort', kill);
    }
    return { code: await exited, stderr };
  }

  let failing = false;
  async function run(fd: FileHandle): Promise<void> {
    while (!stopSignal.signal.aborted) {
      let exit: { code: number | null; stderr: string };
      try {
        exit = await readThroughChild(fd);
      } catch (err) {
        exit = { code: null, stderr: (err as Error).message };
      }
      if (stopSignal.signal.aborted) break;
      // Records overwritten before they were read: the gap is counted by sequence number.
      if (exit.stderr.includes('Broken pipe')) continue;
      metrics.errors.inc({ stage: 'receiving', error_type: 'read_failed' });
      metrics.sourceUp.set({ source: NAME }, 0);
      if (!failing) log.error({ path, exitCode: exit.code, stderr: exit.stderr.trim() }, 'Reading kernel messages failed; retrying.');
      failing = true;
      await sleep(READER_RETRY_MS, stopSignal.signal);
    }
  }

  /** Now on the kernel's clock (microseconds since boot); also right before start(). */
  const nowUsec = (): number => uptime() * 1e6;

  return {
    name: NAME,
    observeContainer(info) {
      if (inspectedByEvents.size >= 1024) inspectedByEvents.clear();
      inspectedByEvents.add(info.Id);
      if (info.State.Running && info.State.Pid > 0) attributor.tracker.containerStarted(info.State.Pid, info.Id);
      else attributor.tracker.containerStopped(info.Id, nowUsec());
    },
    async start() {
      try {
        bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
        const uptimeSec = Number.parseFloat((await readFile('/proc/uptime', 'utf8')).split(' ')[0] ?? '');
        bootTimeMs = Date.now() - uptimeSec * 1000;
        const backlog = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
        try {
          const saved = parseCursor(cursors.get(CURSOR_KEY));
          if (saved?.bootId === bootId) lastSeq = saved.seq;
          else if (!options.backfill) skipBeforeUsec = uptimeSec * 1e6;
          log.info({ path, bootId, resumeAfter: lastSeq, skipBuffered: skipBeforeUsec >= 0 }, 'Reading kernel messages.');
          // Opened before the backlog is read: nothing written meanwhile is missed.
          handle = await open(path, constants.O_RDONLY);
          await readAvailable(backlog);
        } finally {
          await backlog.close();
        }
        metrics.sourceUp.set({ source: NAME }, 1);
      } catch (err) {
        metrics.errors.inc({ stage: 'receiving', error_type: 'kmsg_unavailable' });
        metrics.sourceUp.set({ source: NAME }, 0);
        log.error({ err, path }, `Cannot read kernel messages from ${path}; the kmsg source stays idle (the collector goes on without it).`);
        await handle?.close();
        handle = undefined;
        return;
      }
      loop = run(handle);
    },
    async stop() {
      stopSignal.abort();
      clearTimeout(expiryTimer);
      await loop;
      await handle?.close();
      handle = undefined;
      await batcher.close();
    },
  };
}
